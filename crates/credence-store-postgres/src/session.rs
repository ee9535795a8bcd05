//! Pooled connections that keep their prepared statements.
//!
//! A statement sent as text is parsed, planned and described by the server
//! every time, a round trip of its own before the one that runs it; the
//! calls a partner check makes (the change feed's head, the subject's log,
//! the answer's claim) are the same few statements every time, so each
//! connection prepares them once and keeps them. r2d2_postgres's manager
//! hands out bare clients, with nowhere to keep them: this one is the same
//! few lines with a statement cache beside the client.

use postgres::{Client, NoTls, Statement};
use std::collections::HashMap;

/// A connection and the statements it has prepared, by their text.
pub struct Session {
    client: Client,
    prepared: HashMap<String, Statement>,
}

impl Session {
    /// `sql` prepared on this connection (once; kept after).
    pub fn prepared(&mut self, sql: &str) -> Result<Statement, postgres::Error> {
        if let Some(statement) = self.prepared.get(sql) {
            return Ok(statement.clone());
        }
        let statement = self.client.prepare(sql)?;
        self.prepared.insert(sql.to_string(), statement.clone());
        Ok(statement)
    }
}

impl std::ops::Deref for Session {
    type Target = Client;
    fn deref(&self) -> &Client {
        &self.client
    }
}

impl std::ops::DerefMut for Session {
    fn deref_mut(&mut self) -> &mut Client {
        &mut self.client
    }
}

/// Opens sessions for the pool.
#[derive(Debug)]
pub struct Manager {
    config: postgres::Config,
}

impl Manager {
    pub fn new(config: postgres::Config) -> Self {
        Self { config }
    }
}

impl r2d2::ManageConnection for Manager {
    type Connection = Session;
    type Error = postgres::Error;

    fn connect(&self) -> Result<Session, postgres::Error> {
        Ok(Session {
            client: self.config.connect(NoTls)?,
            prepared: HashMap::new(),
        })
    }

    fn is_valid(&self, session: &mut Session) -> Result<(), postgres::Error> {
        session.client.simple_query("").map(drop)
    }

    fn has_broken(&self, session: &mut Session) -> bool {
        session.client.is_closed()
    }
}
