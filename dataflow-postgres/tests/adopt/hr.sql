CREATE TABLE departments (
    id serial PRIMARY KEY,
    name text NOT NULL UNIQUE
);
CREATE TABLE employees (
    id serial PRIMARY KEY,
    department_id integer NOT NULL REFERENCES departments(id) ON DELETE RESTRICT,
    manager_id integer REFERENCES employees(id) ON DELETE SET NULL,
    hired date NOT NULL,
    salary numeric CHECK (salary > 0),
    born timestamp
);
