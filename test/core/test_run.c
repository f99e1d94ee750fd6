/*
 * test_run.c — datasets, split, the resumable sampler, augmentation
 * consistency, exact resume of a run and evaluation (src/core/run/run.c).
 */
#include "check.h"
#include "maze.h"
#include "run.h"
#include "sudoku.h"

/* A dataset of n generated Sudoku puzzles with `blanks` blanks. */
static bool
sudoku_data(hrm_dataset *ds, int n, int blanks, uint64_t seed, hrm_error *err)
{
	hrm_rng		r;

	if (hrm_dataset_init(ds, HRM_SUDOKU_CELLS, HRM_SUDOKU_VOCAB, 0, err) != HRM_OK)
		return false;
	hrm_rng_seed(&r, seed);
	for (int i = 0; i < n; i++)
	{
		uint8_t		p[HRM_SUDOKU_CELLS],
					s[HRM_SUDOKU_CELLS];
		int32_t		in[HRM_SUDOKU_CELLS],
					lb[HRM_SUDOKU_CELLS];

		if (hrm_sudoku_generate(&r, blanks, 50, p, s, NULL, err) != HRM_OK)
			return false;
		hrm_sudoku_to_tokens(p, in);
		hrm_sudoku_to_tokens(s, lb);
		if (hrm_dataset_append(ds, in, lb, 0, err) != HRM_OK)
			return false;
	}
	return true;
}

/* ---------------------------------------------------------------------- */
/* dataset and split */

HRM_TEST(run_dataset_storage_and_cap)
{
	hrm_dataset ds;
	hrm_error	err;
	int32_t		in[4] = {0, 1, 2, 3},
				lb[4] = {3, -100, 1, 0},
				gi[4],
				gl[4],
				gp;

	HRM_REQUIRE(hrm_dataset_init(&ds, 4, 4, 0, &err) == HRM_OK, "%s", err.msg);
	HRM_CHECK(ds.elem_size == 1, "vocab 4 stored as int8, got %d bytes", ds.elem_size);
	HRM_CHECK(hrm_dataset_row_bytes(&ds) == 2 * 4 + 4, "row bytes %zu", hrm_dataset_row_bytes(&ds));
	HRM_REQUIRE(hrm_dataset_append(&ds, in, lb, 7, &err) == HRM_OK, "%s", err.msg);
	HRM_REQUIRE(hrm_dataset_append(&ds, lb[1] == -100 ? in : in, NULL, 0, &err) == HRM_OK, "%s", err.msg);
	hrm_dataset_get(&ds, 0, gi, gl, &gp);
	HRM_CHECK(memcmp(gi, in, sizeof(in)) == 0 && memcmp(gl, lb, sizeof(lb)) == 0 && gp == 7, "row 0 round trip");
	hrm_dataset_get(&ds, 1, NULL, gl, &gp);
	HRM_CHECK(gl[0] == -100 && gl[3] == -100 && gp == 0, "NULL label = all ignored");
	HRM_CHECK(ds.max_puzzle_id == 7, "max puzzle id %d", ds.max_puzzle_id);

	in[2] = 4;
	HRM_CHECK(hrm_dataset_append(&ds, in, lb, 0, &err) == HRM_ERR_INVALID && strstr(err.msg, "position 3"),
			  "token 4 of vocab 4 accepted: %s", err.msg);
	in[2] = 2;
	lb[0] = -1;
	HRM_CHECK(hrm_dataset_append(&ds, in, lb, 0, &err) == HRM_ERR_INVALID, "label -1 accepted");
	lb[0] = 3;
	HRM_CHECK(hrm_dataset_append(&ds, in, lb, -2, &err) == HRM_ERR_INVALID, "puzzle id -2 accepted");
	HRM_CHECK(ds.n == 2, "failed appends must not add rows (%lld)", (long long) ds.n);
	hrm_dataset_free(&ds);

	/* wider vocabularies */
	HRM_REQUIRE(hrm_dataset_init(&ds, 4, 300, 0, &err) == HRM_OK, "%s", err.msg);
	HRM_CHECK(ds.elem_size == 2, "vocab 300 -> int16 (%d)", ds.elem_size);
	in[3] = 299;
	HRM_REQUIRE(hrm_dataset_append(&ds, in, NULL, 0, &err) == HRM_OK, "%s", err.msg);
	hrm_dataset_get(&ds, 0, gi, NULL, NULL);
	HRM_CHECK(gi[3] == 299, "int16 round trip %d", gi[3]);
	hrm_dataset_free(&ds);
	HRM_REQUIRE(hrm_dataset_init(&ds, 4, 70000, 0, &err) == HRM_OK, "%s", err.msg);
	HRM_CHECK(ds.elem_size == 4, "vocab 70000 -> int32 (%d)", ds.elem_size);
	hrm_dataset_free(&ds);

	/* the memory cap: 100 rows of 12 bytes fit in 1200 bytes, the 101st does not */
	HRM_REQUIRE(hrm_dataset_init(&ds, 4, 4, 1200, &err) == HRM_OK, "%s", err.msg);
	in[3] = 3;
	for (int i = 0; i < 100; i++)
		HRM_REQUIRE(hrm_dataset_append(&ds, in, lb, 0, &err) == HRM_OK, "row %d: %s", i, err.msg);
	HRM_CHECK(hrm_dataset_bytes(&ds) <= 1200, "allocated %zu bytes over the cap", hrm_dataset_bytes(&ds));
	HRM_CHECK(hrm_dataset_append(&ds, in, lb, 0, &err) == HRM_ERR_LIMIT && strstr(err.msg, "limit"),
			  "row over the cap accepted: %s", err.msg);
	HRM_CHECK(hrm_dataset_reserve(&ds, 1000, &err) == HRM_ERR_LIMIT, "reserve over the cap accepted");
	hrm_dataset_free(&ds);
	HRM_CHECK(hrm_dataset_init(&ds, 0, 4, 0, &err) == HRM_ERR_INVALID, "seq_len 0 accepted");
}

HRM_TEST(run_split_deterministic)
{
	hrm_dataset ds;
	hrm_error	err;
	hrm_split	a,
				b,
				c;
	int32_t		in[2] = {0, 1};
	char		seen[1000] = {0};
	bool		sorted = true;

	HRM_REQUIRE(hrm_dataset_init(&ds, 2, 2, 0, &err) == HRM_OK, "%s", err.msg);
	for (int i = 0; i < 1000; i++)
		HRM_REQUIRE(hrm_dataset_append(&ds, in, in, 0, &err) == HRM_OK, "%s", err.msg);
	HRM_REQUIRE(hrm_dataset_split(&ds, 0.1, 42, &a, &err) == HRM_OK, "%s", err.msg);
	HRM_REQUIRE(hrm_dataset_split(&ds, 0.1, 42, &b, &err) == HRM_OK, "%s", err.msg);
	HRM_REQUIRE(hrm_dataset_split(&ds, 0.1, 43, &c, &err) == HRM_OK, "%s", err.msg);
	HRM_CHECK(a.n_eval == 100 && a.n_train == 900, "sizes %lld / %lld", (long long) a.n_eval, (long long) a.n_train);
	HRM_CHECK(memcmp(a.eval, b.eval, sizeof(int64_t) * 100) == 0 &&
			  memcmp(a.train, b.train, sizeof(int64_t) * 900) == 0, "same seed, different split");
	HRM_CHECK(memcmp(a.eval, c.eval, sizeof(int64_t) * 100) != 0, "another seed gives the same split");
	for (int i = 0; i < 100; i++)
	{
		seen[a.eval[i]]++;
		if (i > 0 && a.eval[i] <= a.eval[i - 1])
			sorted = false;
	}
	for (int i = 0; i < 900; i++)
	{
		seen[a.train[i]]++;
		if (i > 0 && a.train[i] <= a.train[i - 1])
			sorted = false;
	}
	HRM_CHECK(sorted, "index lists not ascending");
	for (int i = 0; i < 1000; i++)
		HRM_REQUIRE(seen[i] == 1, "row %d appears %d times", i, seen[i]);
	hrm_split_free(&a);
	hrm_split_free(&b);
	hrm_split_free(&c);

	/* small sets keep one eval row and one training row */
	ds.n = 3;
	HRM_REQUIRE(hrm_dataset_split(&ds, 0.01, 1, &a, &err) == HRM_OK, "%s", err.msg);
	HRM_CHECK(a.n_eval == 1 && a.n_train == 2, "3 rows at 1%%: %lld / %lld", (long long) a.n_eval, (long long) a.n_train);
	hrm_split_free(&a);
	HRM_REQUIRE(hrm_dataset_split(&ds, 0.0, 1, &a, &err) == HRM_OK, "%s", err.msg);
	HRM_CHECK(a.n_eval == 0 && a.n_train == 3, "fraction 0");
	hrm_split_free(&a);
	HRM_CHECK(hrm_dataset_split(&ds, 1.0, 1, &a, &err) == HRM_ERR_INVALID, "fraction 1 accepted");
	hrm_dataset_free(&ds);
}

/* ---------------------------------------------------------------------- */
/* sampler */

HRM_TEST(run_sampler_epochs)
{
	hrm_dataset ds;
	hrm_error	err;
	hrm_sampler *s = NULL,
			   *s2 = NULL;
	hrm_sampler_opts o;
	int64_t		rows[7] = {1, 3, 4, 6, 7, 8, 9};
	int32_t		in[3 * 2],
				lb[3 * 2],
				pid[3],
				in2[3 * 2],
				lb2[3 * 2],
				pid2[3];
	int			count[10] = {0};
	hrm_sampler_pos pos;

	HRM_REQUIRE(hrm_dataset_init(&ds, 2, 16, 0, &err) == HRM_OK, "%s", err.msg);
	for (int i = 0; i < 10; i++)
	{
		int32_t		t[2] = {i, 15 - i};

		HRM_REQUIRE(hrm_dataset_append(&ds, t, t, i, &err) == HRM_OK, "%s", err.msg);
	}
	hrm_sampler_opts_defaults(&o);
	o.batch_size = 3;
	o.seed = 5;
	HRM_REQUIRE(hrm_sampler_create(&s, &ds, rows, 7, &o, &err) == HRM_OK, "%s", err.msg);
	HRM_REQUIRE(hrm_sampler_create(&s2, &ds, rows, 7, &o, &err) == HRM_OK, "%s", err.msg);
	/* 14 rows = two epochs drawn over 5 batches (the last straddles into epoch 2) */
	for (int k = 0; k < 5; k++)
	{
		HRM_REQUIRE(hrm_sampler_next(s, in, lb, pid, &err) == HRM_OK, "%s", err.msg);
		HRM_REQUIRE(hrm_sampler_next(s2, in2, lb2, pid2, &err) == HRM_OK, "%s", err.msg);
		HRM_CHECK(memcmp(in, in2, sizeof(in)) == 0 && memcmp(pid, pid2, sizeof(pid)) == 0,
				  "same seed, different batch %d", k);
		for (int b = 0; b < 3; b++)
		{
			HRM_CHECK(in[2 * b] == pid[b] && in[2 * b + 1] == 15 - pid[b] && lb[2 * b] == pid[b],
					  "generic rows are not augmented");
			if (k * 3 + b < 14)
				count[pid[b]]++;
		}
		if (k == 1)
		{
			/* after 6 draws: the first epoch held each row once, so far */
			for (int i = 0; i < 10; i++)
				HRM_CHECK(count[i] <= 1, "row %d drawn twice in one epoch", i);
		}
	}
	for (int i = 0; i < 10; i++)
	{
		bool		member = i == 1 || i == 3 || i == 4 || i == 6 || i == 7 || i == 8 || i == 9;

		HRM_CHECK(count[i] == (member ? 2 : 0), "row %d drawn %d times in two epochs", i, count[i]);
	}
	hrm_sampler_position(s, &pos);
	HRM_CHECK(pos.batches == 5 && pos.epoch == 2 && pos.row == 1, "position %lld %lld %lld",
			  (long long) pos.batches, (long long) pos.epoch, (long long) pos.row);
	HRM_CHECK(fabs(pos.epochs - (2 + 1.0 / 7)) < 1e-12 && pos.curriculum == 1.0, "epochs %g", pos.epochs);
	hrm_sampler_free(s);
	hrm_sampler_free(s2);

	/* bad options and shapes */
	o.task = HRM_TASK_SUDOKU;
	HRM_CHECK(hrm_sampler_create(&s, &ds, NULL, 10, &o, &err) == HRM_ERR_INVALID && strstr(err.msg, "81"),
			  "sudoku over 2-token rows accepted: %s", err.msg);
	o.task = HRM_TASK_GENERIC;
	o.curriculum_steps = 10;
	HRM_CHECK(hrm_sampler_create(&s, &ds, NULL, 10, &o, &err) == HRM_ERR_CONFIG, "generic curriculum accepted");
	o.curriculum_steps = 0;
	rows[2] = 10;
	HRM_CHECK(hrm_sampler_create(&s, &ds, rows, 7, &o, &err) == HRM_ERR_INVALID, "row 10 of 10 accepted");
	hrm_dataset_free(&ds);
}

/* Draw n batches and return a hash of them. */
static uint64_t
draw_hash(hrm_sampler *s, int n, int B, int T, hrm_error *err, bool *ok)
{
	int32_t    *in = malloc(sizeof(int32_t) * B * T),
			   *lb = malloc(sizeof(int32_t) * B * T),
			   *pid = malloc(sizeof(int32_t) * B);
	uint64_t	h = 1469598103934665603ULL;

	*ok = true;
	for (int k = 0; k < n && *ok; k++)
	{
		if (hrm_sampler_next(s, in, lb, pid, err) != HRM_OK)
		{
			*ok = false;
			break;
		}
		for (int i = 0; i < B * T; i++)
			h = (h ^ (uint32_t) (in[i] * 131 + lb[i])) * 1099511628211ULL;
	}
	free(in);
	free(lb);
	free(pid);
	return h;
}

HRM_TEST(run_sampler_state_round_trip)
{
	hrm_dataset ds,
				other;
	hrm_error	err;
	hrm_sampler *a = NULL,
			   *b = NULL,
			   *c = NULL;
	hrm_sampler_opts o;
	uint8_t    *blob = NULL;
	size_t		len = 0;
	bool		ok;
	uint64_t	ha,
				hb;

	HRM_REQUIRE(sudoku_data(&ds, 13, 20, 3, &err), "%s", err.msg);
	hrm_sampler_opts_defaults(&o);
	o.task = HRM_TASK_SUDOKU;
	o.batch_size = 4;
	o.seed = 11;
	o.curriculum_steps = 9;
	o.curriculum_start = 0.25;
	o.ignore_givens = 0.5;
	HRM_REQUIRE(hrm_sampler_create(&a, &ds, NULL, ds.n, &o, &err) == HRM_OK, "%s", err.msg);
	(void) draw_hash(a, 5, 4, 81, &err, &ok);
	HRM_REQUIRE(ok, "%s", err.msg);
	HRM_REQUIRE(hrm_sampler_save(a, &blob, &len, &err) == HRM_OK, "%s", err.msg);
	HRM_CHECK(len < 256, "sampler blob of %zu bytes is not small", len);
	ha = draw_hash(a, 7, 4, 81, &err, &ok);
	HRM_REQUIRE(ok, "%s", err.msg);

	/* a fresh sampler with other options, restored, draws the same */
	o.seed = 999;
	o.curriculum_steps = 0;
	o.ignore_givens = 0.0;
	HRM_REQUIRE(hrm_sampler_create(&b, &ds, NULL, ds.n, &o, &err) == HRM_OK, "%s", err.msg);
	HRM_REQUIRE(hrm_sampler_restore(b, blob, len, &err) == HRM_OK, "%s", err.msg);
	HRM_CHECK(hrm_sampler_options(b)->seed == 11 && hrm_sampler_options(b)->curriculum_steps == 9,
			  "options not restored");
	hb = draw_hash(b, 7, 4, 81, &err, &ok);
	HRM_REQUIRE(ok, "%s", err.msg);
	HRM_CHECK(ha == hb, "restored sampler draws differently");

	/* damaged blob, other data */
	blob[40] ^= 1;
	HRM_CHECK(hrm_sampler_restore(b, blob, len, &err) == HRM_ERR_FORMAT, "damaged blob accepted");
	blob[40] ^= 1;
	HRM_CHECK(hrm_sampler_restore(b, blob, len - 1, &err) == HRM_ERR_FORMAT, "short blob accepted");
	HRM_REQUIRE(sudoku_data(&other, 13, 20, 4, &err), "%s", err.msg);
	HRM_REQUIRE(hrm_sampler_create(&c, &other, NULL, other.n, &o, &err) == HRM_OK, "%s", err.msg);
	HRM_CHECK(hrm_sampler_restore(c, blob, len, &err) == HRM_ERR_INVALID && strstr(err.msg, "differs"),
			  "blob of other data accepted: %s", err.msg);
	free(blob);
	hrm_sampler_free(a);
	hrm_sampler_free(b);
	hrm_sampler_free(c);
	hrm_dataset_free(&ds);
	hrm_dataset_free(&other);
}

/* ---------------------------------------------------------------------- */
/* augmentation consistency */

HRM_TEST(run_sudoku_augmentation_consistent)
{
	hrm_dataset ds;
	hrm_error	err;
	hrm_sampler *s = NULL;
	hrm_sampler_opts o;
	int32_t		in[8 * 81],
				lb[8 * 81],
				pid[8];
	int			changed = 0,
				masked_rows = 0;

	HRM_REQUIRE(sudoku_data(&ds, 8, 30, 7, &err), "%s", err.msg);
	hrm_sampler_opts_defaults(&o);
	o.task = HRM_TASK_SUDOKU;
	o.batch_size = 8;
	o.curriculum_steps = 4;
	o.curriculum_start = 0.5;
	o.ignore_givens = 0.5;
	HRM_REQUIRE(hrm_sampler_create(&s, &ds, NULL, ds.n, &o, &err) == HRM_OK, "%s", err.msg);
	for (int k = 0; k < 6; k++)
	{
		double		level = k >= 4 ? 1.0 : 0.5 + 0.5 * k / 4.0;
		int			blanks_total = 0;

		HRM_REQUIRE(hrm_sampler_next(s, in, lb, pid, &err) == HRM_OK, "%s", err.msg);
		for (int b = 0; b < 8; b++)
		{
			const int32_t *x = in + b * 81,
					   *y = lb + b * 81;
			uint8_t		puz[81],
						sol[81];
			int32_t		full[81];
			hrm_sudoku_verdict v;
			int			blanks = 0,
						ignored = 0;
			int32_t		orig_in[81];

			/* the label (ignored cells filled from the input) is a valid grid keeping the givens */
			for (int i = 0; i < 81; i++)
			{
				full[i] = y[i] == HRM_IGNORE_LABEL ? x[i] : y[i];
				blanks += x[i] == HRM_SUDOKU_BLANK;
				ignored += y[i] == HRM_IGNORE_LABEL;
				if (y[i] == HRM_IGNORE_LABEL)
					HRM_CHECK(x[i] != HRM_SUDOKU_BLANK, "a blank cell's label is ignored");
			}
			HRM_REQUIRE(hrm_sudoku_from_tokens(x, 81, puz, &err) == HRM_OK, "%s", err.msg);
			HRM_REQUIRE(hrm_sudoku_from_tokens(full, 81, sol, &err) == HRM_OK, "%s", err.msg);
			hrm_sudoku_check(puz, sol, &v);
			HRM_CHECK(v.valid && v.keeps_givens, "batch %d row %d: %s", k, b, v.reason);
			HRM_CHECK(ignored == 0 || ignored == 81 - blanks, "row masks some givens only (%d of %d)",
					  ignored, 81 - blanks);
			masked_rows += ignored > 0;
			blanks_total += blanks;
			/* augmented rows differ from the stored ones */
			hrm_dataset_get(&ds, 0, orig_in, NULL, NULL);
			changed += memcmp(orig_in, x, sizeof(orig_in)) != 0;
		}
		/* curriculum: about level * 30 blanks per row */
		HRM_CHECK(fabs(blanks_total / 8.0 - 30.0 * level) <= 1.0, "batch %d: %.2f blanks, level %.3f",
				  k, blanks_total / 8.0, level);
	}
	HRM_CHECK(masked_rows >= 12 && masked_rows <= 36, "ignore_givens 0.5 masked %d of 48 rows", masked_rows);
	HRM_CHECK(changed >= 40, "augmentation changed only %d of 48 rows", changed);
	hrm_sampler_free(s);
	hrm_dataset_free(&ds);
}

HRM_TEST(run_maze_augmentation_consistent)
{
	hrm_dataset ds;
	hrm_error	err;
	hrm_sampler *s = NULL;
	hrm_sampler_opts o;
	hrm_rng		r;
	hrm_maze	mz,
				sol;
	int32_t		in[HRM_MAZE_SEQ],
				lb[HRM_MAZE_SEQ],
				pid;
	int			len;

	hrm_rng_seed(&r, 9);
	HRM_REQUIRE(hrm_maze_generate(&r, 8, 6, 100, &mz, &sol, &len, NULL, &err) == HRM_OK, "%s", err.msg);
	hrm_maze_to_tokens(&mz, in);
	hrm_maze_to_tokens(&sol, lb);
	HRM_REQUIRE(hrm_dataset_init(&ds, HRM_MAZE_SEQ, HRM_MAZE_VOCAB, 0, &err) == HRM_OK, "%s", err.msg);
	HRM_REQUIRE(hrm_dataset_append(&ds, in, lb, 0, &err) == HRM_OK, "%s", err.msg);
	hrm_sampler_opts_defaults(&o);
	o.task = HRM_TASK_MAZE;
	o.batch_size = 1;
	HRM_REQUIRE(hrm_sampler_create(&s, &ds, NULL, 1, &o, &err) == HRM_OK, "%s", err.msg);
	for (int k = 0; k < 12; k++)
	{
		hrm_maze	a,
					b;
		hrm_maze_verdict v;

		HRM_REQUIRE(hrm_sampler_next(s, in, lb, &pid, &err) == HRM_OK, "%s", err.msg);
		HRM_REQUIRE(hrm_maze_from_tokens(in, HRM_MAZE_SEQ, 0, &a, &err) == HRM_OK, "%s", err.msg);
		HRM_REQUIRE(hrm_maze_from_tokens(lb, HRM_MAZE_SEQ, 0, &b, &err) == HRM_OK, "%s", err.msg);
		HRM_REQUIRE(hrm_maze_check(&a, &b, &v, &err) == HRM_OK, "%s", err.msg);
		HRM_CHECK(v.valid && v.shortest && v.length == len, "draw %d: %s", k, v.reason);
	}
	hrm_sampler_free(s);
	hrm_dataset_free(&ds);
}

/* ---------------------------------------------------------------------- */
/* exact resume */

static const char run_cfg[] =
"{\"seq_len\": 81, \"vocab_size\": 11, \"num_puzzle_identifiers\": 1, \"puzzle_emb_ndim\": 0,"
" \"H_cycles\": 1, \"L_cycles\": 2, \"H_layers\": 1, \"L_layers\": 1, \"hidden_size\": 16,"
" \"num_heads\": 2, \"expansion\": 2, \"halt_max_steps\": 3, \"halt_exploration_prob\": 0.5}";

HRM_TEST(run_resume_bit_identical)
{
	hrm_dataset ds;
	hrm_split	sp;
	hrm_config	cfg;
	hrm_train_opts to;
	hrm_sampler_opts so;
	hrm_error	err;
	hrm_trainer *ta = NULL,
			   *tb = NULL;
	hrm_sampler *sa = NULL,
			   *sb = NULL;
	hrm_run_metrics mt;
	uint8_t    *ck = NULL;
	size_t		ck_len = 0;
	size_t		n;

	HRM_REQUIRE(sudoku_data(&ds, 20, 20, 5, &err), "%s", err.msg);
	HRM_REQUIRE(hrm_dataset_split(&ds, 0.2, 1, &sp, &err) == HRM_OK, "%s", err.msg);
	HRM_REQUIRE(hrm_config_from_json(run_cfg, strlen(run_cfg), &cfg, &err) == HRM_OK, "%s", err.msg);
	hrm_train_opts_defaults(&to);
	to.batch_size = 3;
	to.lr = 1e-3;
	to.lr_warmup_steps = 2;
	to.total_steps = 10;
	to.lr_min_ratio = 0.1;
	to.seed = 3;
	hrm_sampler_opts_defaults(&so);
	so.task = HRM_TASK_SUDOKU;
	so.batch_size = 3;
	so.seed = 4;
	so.curriculum_steps = 6;
	so.ignore_givens = 0.3;

	/* a: 10 steps straight (16 rows, 3 a batch: epochs roll over) */
	HRM_REQUIRE(hrm_trainer_create(&ta, &cfg, NULL, &to, &err) == HRM_OK, "%s", err.msg);
	HRM_REQUIRE(hrm_sampler_create(&sa, &ds, sp.train, sp.n_train, &so, &err) == HRM_OK, "%s", err.msg);
	for (int i = 0; i < 10; i++)
		HRM_REQUIRE(hrm_run_step(ta, sa, &mt, &err) == HRM_OK, "%s", err.msg);
	HRM_CHECK(mt.step == 10 && mt.epochs > 1.0 && isfinite(mt.loss) && mt.curriculum == 1.0,
			  "metrics: step %lld epochs %g loss %g", (long long) mt.step, mt.epochs, mt.loss);

	/* b: 4 steps, checkpoint, free everything, load, 6 more */
	HRM_REQUIRE(hrm_trainer_create(&tb, &cfg, NULL, &to, &err) == HRM_OK, "%s", err.msg);
	HRM_REQUIRE(hrm_sampler_create(&sb, &ds, sp.train, sp.n_train, &so, &err) == HRM_OK, "%s", err.msg);
	for (int i = 0; i < 4; i++)
		HRM_REQUIRE(hrm_run_step(tb, sb, &mt, &err) == HRM_OK, "%s", err.msg);
	HRM_REQUIRE(hrm_run_save(tb, sb, &ck, &ck_len, &err) == HRM_OK, "%s", err.msg);
	hrm_trainer_free(tb);
	hrm_sampler_free(sb);
	HRM_REQUIRE(hrm_run_load(&tb, &sb, &ds, sp.train, sp.n_train, ck, ck_len, &err) == HRM_OK, "%s", err.msg);
	HRM_CHECK(hrm_trainer_step(tb) == 4, "resumed at step %lld", (long long) hrm_trainer_step(tb));
	for (int i = 0; i < 6; i++)
		HRM_REQUIRE(hrm_run_step(tb, sb, &mt, &err) == HRM_OK, "%s", err.msg);
	n = hrm_trainer_layout(ta)->n_params;
	HRM_CHECK(memcmp(hrm_trainer_params(ta), hrm_trainer_params(tb), n * sizeof(float)) == 0,
			  "resumed run ends with other weights");
	HRM_CHECK(memcmp(hrm_trainer_carry(ta)->z_H, hrm_trainer_carry(tb)->z_H,
					 sizeof(float) * 3 * cfg.S * cfg.hidden_size) == 0, "carry differs");
	hrm_trainer_free(tb);
	hrm_sampler_free(sb);

	/* the checkpoint refuses other training rows */
	HRM_CHECK(hrm_run_load(&tb, &sb, &ds, sp.eval, sp.n_eval, ck, ck_len, &err) == HRM_ERR_INVALID &&
			  tb == NULL && sb == NULL, "checkpoint loaded over other rows: %s", err.msg);
	free(ck);
	hrm_trainer_free(ta);
	hrm_sampler_free(sa);
	hrm_split_free(&sp);
	hrm_dataset_free(&ds);
}

/* ---------------------------------------------------------------------- */
/* evaluation */

static const char eval_cfg[] =
"{\"seq_len\": 4, \"vocab_size\": 3, \"num_puzzle_identifiers\": 1, \"puzzle_emb_ndim\": 0,"
" \"H_cycles\": 1, \"L_cycles\": 1, \"H_layers\": 1, \"L_layers\": 1, \"hidden_size\": 8,"
" \"num_heads\": 1, \"expansion\": 2, \"halt_max_steps\": 3}";

static int
cancel_after_first(void *arg, int64_t done, int64_t total)
{
	(*(int *) arg)++;
	return done > 0 && done < total;
}

HRM_TEST(run_evaluate_known_values)
{
	hrm_config	cfg;
	hrm_layout	lay;
	hrm_model	m;
	hrm_dataset ds;
	hrm_eval_opts eo;
	hrm_eval_result res;
	hrm_error	err;
	hrm_rng		r;
	float	   *p;
	int32_t		in[4] = {0, 1, 2, 0};
	/* every logit is 0 (lm_head zeroed), so every prediction is token 0 */
	int32_t		labels[4][4] = {
		{0, 0, 0, 0},			/* exact */
		{0, 0, 1, 0},			/* 3 of 4 */
		{-100, -100, -100, -100},	/* nothing supervised: exact */
		{2, 2, -100, 1},		/* 0 of 3 */
	};
	int64_t		rows[2] = {3, 0};
	int			calls = 0;

	HRM_REQUIRE(hrm_config_from_json(eval_cfg, strlen(eval_cfg), &cfg, &err) == HRM_OK, "%s", err.msg);
	HRM_REQUIRE(hrm_layout_init(&lay, &cfg, &err) == HRM_OK, "%s", err.msg);
	p = hrm_alloc(lay.n_params, sizeof(float));
	HRM_REQUIRE(p != NULL, "alloc");
	hrm_rng_seed(&r, 1);
	hrm_init_params(&lay, p, &r);
	memset(p + lay.lm_head, 0, sizeof(float) * cfg.vocab_size * cfg.hidden_size);
	/* q_head: weights 0, bias (q_halt, q_continue) = (-5, -5) from init: never halts early */
	HRM_REQUIRE(hrm_model_init(&m, &lay, p, &err) == HRM_OK, "%s", err.msg);
	HRM_REQUIRE(hrm_dataset_init(&ds, 4, 3, 0, &err) == HRM_OK, "%s", err.msg);
	for (int i = 0; i < 4; i++)
		HRM_REQUIRE(hrm_dataset_append(&ds, in, labels[i], 0, &err) == HRM_OK, "%s", err.msg);

	hrm_eval_opts_defaults(&eo);
	eo.batch_rows = 3;			/* two chunks */
	HRM_REQUIRE(hrm_evaluate(&m, &ds, NULL, ds.n, &eo, &res, &err) == HRM_OK, "%s", err.msg);
	HRM_CHECK(res.rows == 4 && fabs(res.exact_accuracy - 0.5) < 1e-12, "exact %g of %lld", res.exact_accuracy,
			  (long long) res.rows);
	HRM_CHECK(res.tokens == 11 && fabs(res.token_accuracy - 7.0 / 11.0) < 1e-12, "token %g over %lld",
			  res.token_accuracy, (long long) res.tokens);
	HRM_CHECK(res.mean_segments == 3.0 && res.rows_per_second > 0, "segments %g", res.mean_segments);

	/* a subset, and segments / adaptive halting */
	eo.segments = 2;
	HRM_REQUIRE(hrm_evaluate(&m, &ds, rows, 2, &eo, &res, &err) == HRM_OK, "%s", err.msg);
	HRM_CHECK(res.rows == 2 && res.exact_accuracy == 0.5 && fabs(res.token_accuracy - 4.0 / 7.0) < 1e-12 &&
			  res.mean_segments == 2.0, "subset: %g %g %g", res.exact_accuracy, res.token_accuracy,
			  res.mean_segments);
	p[lay.q_b] = 1.0f;			/* q_halt 1 > q_continue -5: every row halts after one segment */
	eo.segments = 0;
	eo.adaptive = true;
	HRM_REQUIRE(hrm_evaluate(&m, &ds, NULL, ds.n, &eo, &res, &err) == HRM_OK, "%s", err.msg);
	HRM_CHECK(res.mean_segments == 1.0 && res.exact_accuracy == 0.5, "adaptive: %g segments", res.mean_segments);
	eo.adaptive = false;
	eo.max_rows = 1;
	HRM_REQUIRE(hrm_evaluate(&m, &ds, NULL, ds.n, &eo, &res, &err) == HRM_OK, "%s", err.msg);
	HRM_CHECK(res.rows == 1 && res.exact_accuracy == 1.0 && res.mean_segments == 3.0, "max_rows 1");

	/* cancellation between chunks */
	eo.max_rows = 0;
	eo.batch_rows = 1;
	eo.progress = cancel_after_first;
	eo.progress_arg = &calls;
	HRM_CHECK(hrm_evaluate(&m, &ds, NULL, ds.n, &eo, &res, &err) == HRM_ERR_CANCELLED && calls == 2,
			  "cancel: %d calls", calls);
	eo.progress = NULL;
	rows[0] = 4;
	HRM_CHECK(hrm_evaluate(&m, &ds, rows, 2, &eo, &res, &err) == HRM_ERR_INVALID, "row 4 of 4 accepted");

	hrm_dataset_free(&ds);
	hrm_model_free(&m);
	hrm_free(p);
	hrm_layout_free(&lay);
}

HRM_TEST(run_recipe_defaults_valid)
{
	hrm_run_opts o;
	hrm_error	err;
	hrm_task	t;

	hrm_run_opts_defaults(&o, HRM_TASK_SUDOKU, 0, 0);
	HRM_CHECK(hrm_config_validate(&o.model, &err) == HRM_OK, "%s", err.msg);
	HRM_CHECK(o.model.seq_len == 81 && o.model.vocab_size == 11, "sudoku shape");
	HRM_CHECK(o.sampler.batch_size == o.train.batch_size && o.sampler.task == HRM_TASK_SUDOKU, "sampler");
	HRM_CHECK(o.model.hidden_size == 64 && o.model.num_heads == 4 && o.model.attn_mask == HRM_MASK_SUDOKU &&
			  o.model.halt_max_steps == 4 && o.train.lr_min_ratio == 0.1, "the Sudoku recipe (docs/training.md)");
	HRM_CHECK(o.model.arch == HRM_ARCH_TRM && o.model.H_layers == 0 && o.model.L_layers == 2 &&
			  o.model.no_ACT_continue && !o.model.mlp_t, "a TRM");
	hrm_run_opts_hrm(&o);
	HRM_CHECK(o.model.arch == HRM_ARCH_HRM && o.model.H_layers == 2 && !o.model.no_ACT_continue &&
			  o.model.hidden_size == 64 && o.model.attn_mask == HRM_MASK_SUDOKU &&
			  hrm_config_validate(&o.model, &err) == HRM_OK, "its HRM (arch hrm): %s", err.msg);
	hrm_run_opts_trm(&o, false);
	HRM_CHECK(o.model.arch == HRM_ARCH_TRM && o.model.H_layers == 0 && o.model.no_ACT_continue &&
			  o.model.hidden_size == 64 && hrm_config_validate(&o.model, &err) == HRM_OK, "back to the TRM: %s", err.msg);
	hrm_run_opts_defaults(&o, HRM_TASK_MAZE, 0, 0);
	HRM_CHECK(o.model.hidden_size == 128 && o.model.attn_mask == HRM_MASK_FULL, "other tasks keep the common defaults");
	hrm_run_opts_defaults(&o, HRM_TASK_GENERIC, 10, 5);
	HRM_CHECK(hrm_config_validate(&o.model, &err) == HRM_OK && o.model.seq_len == 10, "%s", err.msg);
	HRM_CHECK(hrm_task_from_name("maze", &t) && t == HRM_TASK_MAZE && !hrm_task_from_name("chess", &t) &&
			  strcmp(hrm_task_name(HRM_TASK_ARC), "arc") == 0, "task names");
}
