CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE TABLE tickets (
    id serial PRIMARY KEY,
    priority text NOT NULL DEFAULT 'low' CHECK (priority IN ('low', 'high')),
    state varchar(20) NOT NULL CHECK (state IN ('new', 'done')),
    opened_at timestamptz NOT NULL,
    feeling mood
);
CREATE VIEW open_tickets AS SELECT * FROM tickets WHERE state = 'new';
