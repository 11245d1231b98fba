CREATE TABLE tickets (
    id INTEGER PRIMARY KEY,
    priority TEXT NOT NULL DEFAULT 'low' CHECK (priority IN ('low', 'high')),
    state VARCHAR(20) NOT NULL CHECK (state IN ('new', 'done')),
    opened_at TIMESTAMPTZ NOT NULL
);
CREATE VIEW open_tickets AS SELECT * FROM tickets WHERE state = 'new';
