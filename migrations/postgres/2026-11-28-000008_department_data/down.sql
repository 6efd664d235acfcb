DROP TABLE department_imports;
DROP TABLE department_records;
