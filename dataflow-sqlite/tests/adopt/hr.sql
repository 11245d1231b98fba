CREATE TABLE departments (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE
);
CREATE TABLE employees (
    id INTEGER PRIMARY KEY,
    department_id BIGINT NOT NULL REFERENCES departments(id) ON DELETE RESTRICT,
    manager_id BIGINT REFERENCES employees(id) ON DELETE SET NULL,
    hired DATE NOT NULL,
    salary NUMERIC,
    CHECK (salary > 0)
);
