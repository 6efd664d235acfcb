-- PostgreSQL only (a function that ANALYZEs as the tables' owner); SQLite has no roles.
SELECT 1;
