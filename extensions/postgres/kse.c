/*
 * kse.c - PostgreSQL extension: Korean sentence embeddings through libkse's C API.
 *
 * Only include/kse.h is used; libkse.so is linked with an rpath (see Makefile).
 *
 * One encoder per backend, created lazily on first use and kept in a static. It
 * remembers the kse.model_dir / kse.threads / kse.sessions values it was loaded
 * with; when any of them differs at the next call, it is freed and loaded again.
 * It is freed at backend exit (on_proc_exit).
 *
 * ONNX Runtime starts threads of its own. So that they never run PostgreSQL's
 * signal handlers, every libkse call that may start or use them (kse_create,
 * kse_encode, kse_count_tokens, kse_free) runs with all signals blocked in the
 * calling thread: threads created meanwhile inherit the full mask, and signals
 * that arrive meanwhile (query cancel, statement_timeout's SIGALRM) stay pending
 * until the mask is restored right after the call, when PostgreSQL's handlers
 * run in the backend's own thread as usual. Nothing may ereport while the mask
 * is blocked. The batched kse_embed(text[]) checks for interrupts between
 * batches, so cancel and statement_timeout stop it between two batches.
 *
 * Memory: result arrays, output buffers and converted texts are palloc'd in
 * PostgreSQL memory contexts; only the encoder (the model) is libkse's.
 */
#include "postgres.h"

#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/tuplestore.h"

#include "kse.h"

PG_MODULE_MAGIC;

/* Texts per kse_encode call in kse_embed(text[]): enough for libkse to sort them by length and
 * batch with little padding (64 gave 0.81x the CLI's rows/s, bench/db_extensions.py), few enough that
 * a cancel waits for under a second of work. Interrupts are checked between batches. */
#define KSE_PG_BATCH 256

void		_PG_init(void);

PG_FUNCTION_INFO_V1(kse_pg_embed);
PG_FUNCTION_INFO_V1(kse_pg_embed_batch);
PG_FUNCTION_INFO_V1(kse_pg_tokens);
PG_FUNCTION_INFO_V1(kse_pg_cosine);
PG_FUNCTION_INFO_V1(kse_pg_version);
PG_FUNCTION_INFO_V1(kse_pg_model);

/* GUC variables */
static char *kse_model_dir_guc = NULL;
static int	kse_threads_guc = 0;
static int	kse_sessions_guc = 1;

/* The backend's encoder and the settings it was loaded with. */
static kse_encoder *kse_enc = NULL;
static char *kse_loaded_dir = NULL; /* in TopMemoryContext */
static int	kse_loaded_threads = -1;
static int	kse_loaded_sessions = -1;
static bool kse_exit_registered = false;

void
_PG_init(void)
{
	DefineCustomStringVariable("kse.model_dir",
							   "Model directory kse loads; empty means libkse's default-model search.",
							   "Superuser only, since it makes the server read files from a path.",
							   &kse_model_dir_guc,
							   "",
							   PGC_SUSET,
							   0,
							   NULL, NULL, NULL);
	DefineCustomIntVariable("kse.threads",
							"ONNX Runtime intra-op threads per session of the backend's encoder; 0 = libkse's default.",
							"0 divides the machine's cores among the sessions.",
							&kse_threads_guc,
							0, 0, 64,
							PGC_USERSET,
							0,
							NULL, NULL, NULL);
	DefineCustomIntVariable("kse.sessions",
							"ONNX Runtime sessions in the backend's encoder.",
							NULL,
							&kse_sessions_guc,
							1, 1, 64,
							PGC_USERSET,
							0,
							NULL, NULL, NULL);
	MarkGUCPrefixReserved("kse");
}

static void
kse_block_signals(sigset_t *old)
{
	sigset_t	all;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, old);
}

static void
kse_restore_signals(const sigset_t *old)
{
	pthread_sigmask(SIG_SETMASK, old, NULL);
}

static void
kse_free_encoder(void)
{
	sigset_t	old;
	kse_encoder *enc = kse_enc;

	kse_enc = NULL;
	if (enc != NULL)
	{
		kse_block_signals(&old);
		kse_free(enc);
		kse_restore_signals(&old);
	}
	if (kse_loaded_dir != NULL)
	{
		pfree(kse_loaded_dir);
		kse_loaded_dir = NULL;
	}
}

static void
kse_at_exit(int code, Datum arg)
{
	kse_free_encoder();
}

/*
 * Raises the ERROR for a failed libkse call. The message is copied out of the
 * kse_error first; in a database whose encoding is neither UTF8 nor SQL_ASCII
 * its non-ASCII bytes (kse's messages are UTF-8) become '?'.
 */
static void
kse_report(kse_status status, const kse_error *err)
{
	char		msg[KSE_ERROR_MESSAGE_SIZE];
	int			code;
	int			enc = GetDatabaseEncoding();

	strlcpy(msg, err->message, sizeof(msg));
	if (msg[0] == '\0')
		snprintf(msg, sizeof(msg), "%s", kse_status_name(status));
	if (enc != PG_UTF8 && enc != PG_SQL_ASCII)
	{
		char	   *p;

		for (p = msg; *p; p++)
			if ((unsigned char) *p >= 0x80)
				*p = '?';
	}

	switch (status)
	{
		case KSE_ERR_INVALID_UTF8:
			code = ERRCODE_CHARACTER_NOT_IN_REPERTOIRE;
			break;
		case KSE_ERR_INVALID_ARGUMENT:
			code = ERRCODE_INVALID_PARAMETER_VALUE;
			break;
		case KSE_ERR_INPUT_TOO_LONG:
			code = ERRCODE_STRING_DATA_RIGHT_TRUNCATION;
			break;
		case KSE_ERR_MODEL_NOT_FOUND:
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_FILE),
					 errmsg("kse: %s", msg),
					 errhint("Set kse.model_dir to a kse model directory the server can read, or to '' for libkse's default model.")));
			return;				/* not reached */
		case KSE_ERR_MODEL_INVALID:
			code = ERRCODE_CONFIG_FILE_ERROR;
			break;
		case KSE_ERR_RUNTIME_UNAVAILABLE:
		case KSE_ERR_RUNTIME:
		case KSE_ERR_TOKENIZER:
			code = ERRCODE_EXTERNAL_ROUTINE_EXCEPTION;
			break;
		default:
			code = ERRCODE_INTERNAL_ERROR;
			break;
	}
	ereport(ERROR, (errcode(code), errmsg("kse: %s", msg)));
}

/*
 * The backend's encoder, (re)loaded if the GUCs changed since it was created.
 */
static kse_encoder *
kse_get_encoder(void)
{
	const char *dir = kse_model_dir_guc ? kse_model_dir_guc : "";
	kse_options opts;
	kse_error	err;
	kse_status	st;
	kse_encoder *enc = NULL;
	char	   *dir_copy;
	sigset_t	old;

	if (kse_enc != NULL &&
		kse_loaded_threads == kse_threads_guc &&
		kse_loaded_sessions == kse_sessions_guc &&
		strcmp(kse_loaded_dir, dir) == 0)
		return kse_enc;

	kse_free_encoder();

	if (!kse_exit_registered)
	{
		on_proc_exit(kse_at_exit, (Datum) 0);
		kse_exit_registered = true;
	}

	/* Allocate before creating, so that no ereport can leak the encoder. */
	dir_copy = MemoryContextStrdup(TopMemoryContext, dir);

	memset(&err, 0, sizeof(err));
	st = KSE_OPTIONS_INIT(&opts);
	if (st == KSE_OK)
	{
		opts.model_dir = dir[0] != '\0' ? dir : NULL;
		opts.intra_threads = (uint32_t) kse_threads_guc;
		opts.sessions = (uint32_t) kse_sessions_guc;
		kse_block_signals(&old);
		st = kse_create(&opts, &enc, &err);
		kse_restore_signals(&old);
	}
	else
		snprintf(err.message, sizeof(err.message),
				 "kse_options_init: this kse.h does not match the libkse loaded (%s)",
				 kse_version());
	if (st != KSE_OK)
	{
		pfree(dir_copy);
		kse_report(st, &err);
	}

	kse_enc = enc;
	kse_loaded_dir = dir_copy;
	kse_loaded_threads = kse_threads_guc;
	kse_loaded_sessions = kse_sessions_guc;

	elog(DEBUG1, "kse: loaded model \"%s\" (dim %zu) from %s with threads=%d sessions=%d",
		 kse_model_name(enc), kse_dim(enc),
		 dir[0] != '\0' ? dir : "the default model search",
		 kse_loaded_threads, kse_loaded_sessions);
	return kse_enc;
}

/*
 * A text datum's bytes as UTF-8 with explicit length: the datum's own bytes in a
 * UTF8 or SQL_ASCII database (in SQL_ASCII they go as they are, and libkse
 * rejects invalid UTF-8), otherwise a palloc'd conversion.
 */
static const char *
kse_text_utf8(text *t, size_t *len)
{
	const char *p = VARDATA_ANY(t);
	int			n = VARSIZE_ANY_EXHDR(t);
	int			enc = GetDatabaseEncoding();

	if (enc != PG_UTF8 && enc != PG_SQL_ASCII && n > 0)
	{
		char	   *c = pg_server_to_any(p, n, PG_UTF8);

		if (c != p)
			n = (int) strlen(c);
		p = c;
	}
	*len = (size_t) n;
	return p;
}

/* Encodes n texts into out (n * dim floats); ERROR on failure. */
static void
kse_encode_or_error(kse_encoder *enc, const char *const *texts, const size_t *lens,
					size_t n, float *out, size_t capacity)
{
	kse_error	err;
	kse_status	st;
	sigset_t	old;

	if (n == 0)
		return;
	kse_block_signals(&old);
	st = kse_encode(enc, texts, lens, n, out, capacity, NULL, &err);
	kse_restore_signals(&old);
	if (st != KSE_OK)
		kse_report(st, &err);
}

/* A new 1-D real[] of dim elements, lower bound 1; its data is returned in *data. */
static ArrayType *
kse_new_float4_array(int dim, float4 **data)
{
	Size		nbytes = ARR_OVERHEAD_NONULLS(1) + sizeof(float4) * (Size) dim;
	ArrayType  *a = (ArrayType *) palloc0(nbytes);

	SET_VARSIZE(a, nbytes);
	a->ndim = 1;
	a->dataoffset = 0;
	a->elemtype = FLOAT4OID;
	ARR_DIMS(a)[0] = dim;
	ARR_LBOUND(a)[0] = 1;
	*data = (float4 *) ARR_DATA_PTR(a);
	return a;
}

static int
kse_dim_int(kse_encoder *enc)
{
	size_t		dim = kse_dim(enc);

	if (dim == 0 || dim > (size_t) (MaxAllocSize / sizeof(float4) / KSE_PG_BATCH))
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("kse: model dimension %zu is out of range", dim)));
	return (int) dim;
}

/*
 * Sets up materialize mode for a set-returning function: a tuplestore and the
 * given tuple descriptor, both in the per-query memory context.
 */
static Tuplestorestate *
kse_begin_materialize(FunctionCallInfo fcinfo, TupleDesc *desc_out, bool scalar_float4_array)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	MemoryContext old;
	Tuplestorestate *ts;
	TupleDesc	desc;

	if (rsinfo == NULL || !IsA(rsinfo, ReturnSetInfo))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("set-valued function called in context that cannot accept a set")));
	if (!(rsinfo->allowedModes & SFRM_Materialize))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("materialize mode required, but it is not allowed in this context")));

	old = MemoryContextSwitchTo(rsinfo->econtext->ecxt_per_query_memory);
	if (scalar_float4_array)
	{
		desc = CreateTemplateTupleDesc(1);
		TupleDescInitEntry(desc, (AttrNumber) 1, "kse_embed", FLOAT4ARRAYOID, -1, 0);
	}
	else if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("return type must be a row type")));
	ts = tuplestore_begin_heap((rsinfo->allowedModes & SFRM_Materialize_Random) != 0,
							   false, work_mem);
	rsinfo->returnMode = SFRM_Materialize;
	rsinfo->setResult = ts;
	rsinfo->setDesc = desc;
	MemoryContextSwitchTo(old);

	*desc_out = desc;
	return ts;
}

/*
 * kse_embed(text) RETURNS real[]
 */
Datum
kse_pg_embed(PG_FUNCTION_ARGS)
{
	text	   *t = PG_GETARG_TEXT_PP(0);
	kse_encoder *enc = kse_get_encoder();
	int			dim = kse_dim_int(enc);
	size_t		len;
	const char *p = kse_text_utf8(t, &len);
	float4	   *data;
	ArrayType  *result = kse_new_float4_array(dim, &data);

	kse_encode_or_error(enc, &p, &len, 1, data, (size_t) dim);
	PG_RETURN_ARRAYTYPE_P(result);
}

/*
 * kse_embed(texts text[]) RETURNS SETOF real[]: one row per element in order
 * (a NULL element gives a NULL row), encoded KSE_PG_BATCH texts per kse_encode
 * call with interrupts checked between calls.
 */
Datum
kse_pg_embed_batch(PG_FUNCTION_ARGS)
{
	ArrayType  *arr = PG_GETARG_ARRAYTYPE_P(0);
	TupleDesc	desc;
	Tuplestorestate *ts = kse_begin_materialize(fcinfo, &desc, true);
	kse_encoder *enc;
	int			dim;
	Datum	   *elems;
	bool	   *nulls;
	int			n;
	int			i;
	const char *ptrs[KSE_PG_BATCH];
	size_t		lens[KSE_PG_BATCH];
	float4	   *buf;
	MemoryContext batchcxt;
	MemoryContext old;

	deconstruct_array(arr, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &n);
	if (n == 0)
		PG_RETURN_NULL();

	enc = kse_get_encoder();
	dim = kse_dim_int(enc);
	buf = (float4 *) palloc(sizeof(float4) * (Size) dim * KSE_PG_BATCH);
	batchcxt = AllocSetContextCreate(CurrentMemoryContext, "kse_embed batch",
									 ALLOCSET_DEFAULT_SIZES);

	i = 0;
	while (i < n)
	{
		int			start = i;
		int			k = 0;
		int			j;

		CHECK_FOR_INTERRUPTS();
		MemoryContextReset(batchcxt);
		old = MemoryContextSwitchTo(batchcxt);

		for (; i < n && k < KSE_PG_BATCH; i++)
		{
			if (nulls[i])
				continue;
			ptrs[k] = kse_text_utf8((text *) DatumGetPointer(elems[i]), &lens[k]);
			k++;
		}
		kse_encode_or_error(enc, ptrs, lens, (size_t) k, buf,
							(size_t) dim * KSE_PG_BATCH);

		k = 0;
		for (j = start; j < i; j++)
		{
			Datum		value = (Datum) 0;
			bool		isnull = nulls[j];

			if (!isnull)
			{
				float4	   *data;
				ArrayType  *a = kse_new_float4_array(dim, &data);

				memcpy(data, buf + (Size) k * dim, sizeof(float4) * (Size) dim);
				k++;
				value = PointerGetDatum(a);
			}
			tuplestore_putvalues(ts, desc, &value, &isnull);
		}
		MemoryContextSwitchTo(old);
	}
	MemoryContextDelete(batchcxt);
	pfree(buf);
	PG_RETURN_NULL();
}

/*
 * kse_tokens(text) RETURNS integer: kse_count_tokens, the untruncated count
 * with special and prefix tokens.
 */
Datum
kse_pg_tokens(PG_FUNCTION_ARGS)
{
	text	   *t = PG_GETARG_TEXT_PP(0);
	kse_encoder *enc = kse_get_encoder();
	size_t		len;
	const char *p = kse_text_utf8(t, &len);
	size_t		count = 0;
	kse_error	err;
	kse_status	st;
	sigset_t	old;

	kse_block_signals(&old);
	st = kse_count_tokens(enc, p, len, &count, &err);
	kse_restore_signals(&old);
	if (st != KSE_OK)
		kse_report(st, &err);
	if (count > (size_t) PG_INT32_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("kse_tokens: %zu tokens is out of range for integer", count)));
	PG_RETURN_INT32((int32) count);
}

static const float4 *
kse_vector_arg(ArrayType *a, int *len)
{
	if (ARR_NDIM(a) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("kse_cosine: vectors must not be empty")));
	if (ARR_NDIM(a) != 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("kse_cosine: vectors must be one-dimensional arrays, not %d-dimensional", ARR_NDIM(a))));
	if (ARR_ELEMTYPE(a) != FLOAT4OID)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("kse_cosine: vectors must be real[]")));
	if (array_contains_nulls(a))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("kse_cosine: vectors must not contain NULL elements")));
	*len = ARR_DIMS(a)[0];
	if (*len == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("kse_cosine: vectors must not be empty")));
	return (const float4 *) ARR_DATA_PTR(a);
}

/*
 * kse_cosine(real[], real[]) RETURNS float8: the cosine similarity, computed in
 * double precision; NULL when either vector has norm zero.
 */
Datum
kse_pg_cosine(PG_FUNCTION_ARGS)
{
	ArrayType  *a = PG_GETARG_ARRAYTYPE_P(0);
	ArrayType  *b = PG_GETARG_ARRAYTYPE_P(1);
	int			na;
	int			nb;
	const float4 *x = kse_vector_arg(a, &na);
	const float4 *y = kse_vector_arg(b, &nb);
	double		dot = 0.0;
	double		xx = 0.0;
	double		yy = 0.0;
	int			i;

	if (na != nb)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("kse_cosine: vectors have different lengths (%d and %d)", na, nb)));
	for (i = 0; i < na; i++)
	{
		double		u = x[i];
		double		v = y[i];

		dot += u * v;
		xx += u * u;
		yy += v * v;
	}
	if (xx == 0.0 || yy == 0.0)
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(dot / (sqrt(xx) * sqrt(yy)));
}

/*
 * kse_version() RETURNS text: the version of the libkse loaded.
 */
Datum
kse_pg_version(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(cstring_to_text(kse_version()));
}

/*
 * kse_model() RETURNS TABLE(name text, dim integer, max_tokens integer): the
 * backend's model, loading it if needed.
 */
Datum
kse_pg_model(PG_FUNCTION_ARGS)
{
	TupleDesc	desc;
	Tuplestorestate *ts = kse_begin_materialize(fcinfo, &desc, false);
	kse_encoder *enc = kse_get_encoder();
	const char *name = kse_model_name(enc);
	size_t		max_tokens = kse_max_tokens(enc);
	Datum		values[3];
	bool		isnull[3] = {false, false, false};

	values[0] = PointerGetDatum(cstring_to_text(pg_any_to_server(name, (int) strlen(name), PG_UTF8)));
	values[1] = Int32GetDatum(kse_dim_int(enc));
	values[2] = Int32GetDatum(max_tokens > (size_t) PG_INT32_MAX ? PG_INT32_MAX : (int32) max_tokens);
	tuplestore_putvalues(ts, desc, values, isnull);
	PG_RETURN_NULL();
}
