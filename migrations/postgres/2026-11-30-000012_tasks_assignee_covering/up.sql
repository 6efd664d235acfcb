-- A full sync finds a worker's households through `household_id IN (SELECT household_id FROM
-- tasks WHERE assignee_id = ? AND state IN open states)`, four times per sync. With the household
-- in the index the subquery is answered from the index alone, instead of a table seek per task.
DROP INDEX tasks_assignee;
CREATE INDEX tasks_assignee ON tasks (assignee_id, state, household_id);
