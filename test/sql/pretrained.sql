--
-- hrm_pretrained() and hrm_load_pretrained(): the shipped models.
-- Whatever models are installed, the listing's rows describe loadable
-- models, and bad names are refused with their SQLSTATEs without reading
-- anything outside the models' directory.
--
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS hrm;
CREATE FUNCTION pg_temp.state(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE q;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE;
END
$$;
-- every listed model has a name, a task, parameters, bytes and a configuration
SELECT count(*) FILTER (WHERE name ~ '^[a-z0-9_]+$' AND n_params > 0 AND bytes > 4 * n_params
                          AND config ? 'hidden_size') = count(*) AS listing_consistent
  FROM hrm_pretrained();
-- names that are not pretrained model names: 22023, whatever is installed
SELECT pg_temp.state($$SELECT hrm_load_pretrained('../../../etc/passwd')$$) AS traversal,
       pg_temp.state($$SELECT hrm_load_pretrained('Sudoku')$$) AS upper_case,
       pg_temp.state($$SELECT hrm_load_pretrained('')$$) AS empty,
       pg_temp.state($$SELECT hrm_load_pretrained('a/b')$$) AS slash,
       pg_temp.state($$SELECT hrm_load_pretrained(NULL)$$) AS null_name;
-- a well-formed name nobody installed: 42704 (or 58P01 when no directory is installed)
SELECT pg_temp.state($$SELECT hrm_load_pretrained('no_such_model_here')$$) IN ('42704', '58P01') AS missing;
-- each installed model loads under another name, is listed in the catalog with its task, and solves
SELECT count(*) FILTER (WHERE hrm_load_pretrained(p.name, 'pretrained_' || p.name) = 'pretrained_' || p.name)
       = count(*) AS all_loaded
  FROM hrm_pretrained() p;
SELECT count(*) = (SELECT count(*) FROM hrm_pretrained()) AS all_in_catalog
  FROM hrm.model m JOIN hrm_pretrained() p ON m.name = 'pretrained_' || p.name AND m.task IS NOT DISTINCT FROM p.task;
SELECT count(*) FILTER (WHERE length(hrm_solve(m.name, repeat('.', 81))) = 81) = count(*) AS sudoku_models_solve
  FROM hrm.model m WHERE m.name LIKE 'pretrained_%' AND m.task = 'sudoku';
-- the shipped Sudoku model (models/sudoku.safetensors, installed by make install) solves
-- puzzles it never saw: generator seeds used neither in its training nor in its evaluation;
-- docs/training.md has its measured accuracy (this only guards against a broken file)
SELECT NOT EXISTS (SELECT FROM hrm_pretrained() WHERE name = 'sudoku')
       OR (SELECT count(*) FILTER (WHERE hrm_solve('pretrained_sudoku', puzzle) = solution)
             FROM hrm_sudoku_generate(50, 20, 7020)) >= 48 AS shipped_solves_20_blanks,
       NOT EXISTS (SELECT FROM hrm_pretrained() WHERE name = 'sudoku')
       OR (SELECT count(*) FILTER (WHERE hrm_solve('pretrained_sudoku', puzzle) = solution)
             FROM hrm_sudoku_generate(50, 30, 40, 7035)) >= 45 AS shipped_solves_30_40_blanks;
-- its stage 1 (models/sudoku_stage1.safetensors) votes with it as an ensemble: on puzzles with a
-- unique solution a rule-valid answer is the solution, so the pair solves every puzzle the model
-- alone solves, and more of the hard ones (docs/training.md: 83.2% against 80.8% of 500)
CREATE TEMP TABLE hard AS SELECT * FROM hrm_sudoku_generate(40, 45, 55, 7045);
SELECT NOT EXISTS (SELECT FROM hrm_pretrained() WHERE name = 'sudoku_stage1')
       OR (SELECT bool_and(hrm_solve('pretrained_sudoku', puzzle, ensemble => ARRAY['pretrained_sudoku_stage1'])
                           = solution)
             FROM hard WHERE hrm_solve('pretrained_sudoku', puzzle) = solution) AS ensemble_keeps_the_solved,
       NOT EXISTS (SELECT FROM hrm_pretrained() WHERE name = 'sudoku_stage1')
       OR (SELECT count(*) FILTER (WHERE hrm_solve('pretrained_sudoku', puzzle,
                                                   ensemble => ARRAY['pretrained_sudoku_stage1']) = solution)
             FROM hard) >= 30 AS ensemble_solves_45_55_blanks;
SELECT count(hrm_drop_model(name)) >= 0 AS dropped FROM hrm.model WHERE name LIKE 'pretrained_%';
