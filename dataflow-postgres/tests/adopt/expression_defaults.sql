CREATE SEQUENCE ticket_numbers;
CREATE TABLE tickets (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    number bigint NOT NULL DEFAULT nextval('ticket_numbers'),
    opened date NOT NULL DEFAULT CURRENT_DATE,
    opened_at timestamp NOT NULL DEFAULT CURRENT_DATE,
    due timestamptz NOT NULL DEFAULT now() + interval '1 day',
    code text NOT NULL DEFAULT lower('X'),
    label text DEFAULT 'a' || 'b',
    ref uuid DEFAULT 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
    ratio double precision DEFAULT 'NaN'::double precision
);
