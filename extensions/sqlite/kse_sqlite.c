/*
 * kse_sqlite: kse's sentence embeddings as SQLite functions (a loadable
 * extension built on kse's C API, include/kse.h, and nothing else).
 *
 *   .load kse_sqlite                        -- or load_extension('.../kse_sqlite')
 *   SELECT kse_setup('/path/to/model', 2);   -- optional: model directory, threads, sessions
 *   SELECT kse_embed('한 남자가 기타를 친다.');  -- float32 BLOB, little-endian (sqlite-vec's layout)
 *   SELECT kse_tokens(s), kse_cosine(kse_embed(a), kse_embed(b)) FROM ...;
 *   SELECT rowid, embedding FROM kse_embed_column('sentences', 's');   -- batched
 *
 * One encoder per process and (model directory, threads, sessions), created
 * on first use and shared by every connection and thread (kse_encode is
 * thread-safe); it lives until the process ends. extensions/sqlite/README.md
 * documents every function.
 */
#include <sqlite3ext.h>
SQLITE_EXTENSION_INIT1

#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kse.h"

/* Rows per kse_encode call in kse_embed_column, as many as the kse CLI
 * passes per call: kse sorts a call's texts by length and batches them by its
 * batch_tokens, so bigger calls waste less on padding. */
#define KSE_SQLITE_BATCH 2048

/* ---- the process-wide encoders ------------------------------------------ */

struct loaded {
  char *model_dir; /* canonical path; NULL = the default model */
  unsigned threads, sessions;
  kse_encoder *enc;
  struct loaded *next;
};

static pthread_mutex_t loaded_lock = PTHREAD_MUTEX_INITIALIZER;
static struct loaded *loaded_head;

static int same_dir(const char *a, const char *b) {
  if (a == NULL || b == NULL) return a == b;
  return strcmp(a, b) == 0;
}

/* The encoder for a model directory (NULL: the default model), loaded on
 * first use. On failure returns NULL and *msg (sqlite3_malloc'd) says why. */
static kse_encoder *encoder_for(const char *model_dir, unsigned threads, unsigned sessions, char **msg) {
  char *canon = NULL;
  if (model_dir != NULL) {
    /* One key per directory however it is spelled; a path that does not
     * resolve goes to kse as written, for kse's own error message. */
    char *real = realpath(model_dir, NULL);
    canon = sqlite3_mprintf("%s", real ? real : model_dir);
    free(real);
    if (canon == NULL) {
      *msg = sqlite3_mprintf("kse: out of memory");
      return NULL;
    }
  }
  kse_encoder *enc = NULL;
  pthread_mutex_lock(&loaded_lock);
  for (struct loaded *l = loaded_head; l != NULL; l = l->next) {
    if (same_dir(l->model_dir, canon) && l->threads == threads && l->sessions == sessions) {
      enc = l->enc;
      break;
    }
  }
  if (enc == NULL) {
    kse_options opts;
    kse_error err;
    KSE_OPTIONS_INIT(&opts);
    opts.model_dir = canon;
    opts.intra_threads = threads;
    opts.sessions = sessions;
    struct loaded *l = sqlite3_malloc(sizeof *l);
    if (l == NULL) {
      *msg = sqlite3_mprintf("kse: out of memory");
    } else if (kse_create(&opts, &enc, &err) != KSE_OK) {
      *msg = sqlite3_mprintf("kse: %s", err.message);
      sqlite3_free(l);
    } else {
      l->model_dir = canon;
      canon = NULL; /* kept by the entry */
      l->threads = threads;
      l->sessions = sessions;
      l->enc = enc;
      l->next = loaded_head;
      loaded_head = l;
    }
  }
  pthread_mutex_unlock(&loaded_lock);
  sqlite3_free(canon);
  return enc;
}

/* ---- per connection: the model kse_setup chose ---------------------------- */

struct conn {
  pthread_mutex_t lock; /* a connection may be used from several threads (serialized mode) */
  char *model_dir;      /* NULL: the default model */
  unsigned threads, sessions;
};

static void conn_free(void *p) {
  struct conn *c = p;
  pthread_mutex_destroy(&c->lock);
  sqlite3_free(c->model_dir);
  sqlite3_free(c);
}

/* The encoder for a call of `fn`: the model in `dir_arg` (a model directory
 * argument) if given, else the connection's. On failure returns NULL and
 * *msg (sqlite3_malloc'd, may be NULL when out of memory) names `fn` and why. */
static kse_encoder *conn_encoder(struct conn *c, sqlite3_value *dir_arg, const char *fn, char **msg) {
  *msg = NULL;
  pthread_mutex_lock(&c->lock);
  unsigned threads = c->threads, sessions = c->sessions;
  char *dir = c->model_dir ? sqlite3_mprintf("%s", c->model_dir) : NULL;
  pthread_mutex_unlock(&c->lock);
  if (dir_arg != NULL && sqlite3_value_type(dir_arg) != SQLITE_NULL) {
    sqlite3_free(dir);
    if (sqlite3_value_type(dir_arg) != SQLITE_TEXT) {
      *msg = sqlite3_mprintf("%s: the model directory argument must be text", fn);
      return NULL;
    }
    dir = sqlite3_mprintf("%s", (const char *)sqlite3_value_text(dir_arg));
  }
  char *why = NULL;
  kse_encoder *enc = encoder_for(dir, threads, sessions, &why);
  sqlite3_free(dir);
  if (enc == NULL) *msg = sqlite3_mprintf("%s: %s", fn, why ? why : "kse: out of memory");
  sqlite3_free(why);
  return enc;
}

/* conn_encoder for a scalar function: sets the SQL error on failure. */
static kse_encoder *encoder_of(sqlite3_context *ctx, struct conn *c, sqlite3_value *dir_arg, const char *fn) {
  char *msg;
  kse_encoder *enc = conn_encoder(c, dir_arg, fn, &msg);
  if (enc == NULL) sqlite3_result_error(ctx, msg ? msg : "kse: out of memory", -1);
  sqlite3_free(msg);
  return enc;
}

static const char *type_name(int type) {
  switch (type) {
    case SQLITE_INTEGER: return "an integer";
    case SQLITE_FLOAT: return "a real";
    case SQLITE_BLOB: return "a blob";
    case SQLITE_NULL: return "NULL";
    default: return "text";
  }
}

/* Whether the argument is text; sets the SQL error otherwise. */
static int require_text(sqlite3_context *ctx, sqlite3_value *v, const char *fn) {
  if (sqlite3_value_type(v) == SQLITE_TEXT) return 1;
  char *m = sqlite3_mprintf("%s: argument 1 must be text, got %s", fn, type_name(sqlite3_value_type(v)));
  sqlite3_result_error(ctx, m ? m : "kse: argument 1 must be text", -1);
  sqlite3_free(m);
  return 0;
}

static void kse_failed(sqlite3_context *ctx, const char *fn, const kse_error *err) {
  char *m = sqlite3_mprintf("%s: kse: %s", fn, err->message);
  sqlite3_result_error(ctx, m ? m : err->message, -1);
  sqlite3_free(m);
}

/* Vectors are stored as little-endian float32, sqlite-vec's layout. */
static void to_little_endian(float *v, size_t n) {
  const uint16_t one = 1;
  if (*(const unsigned char *)&one == 1) return;
  for (size_t i = 0; i < n; i++) {
    unsigned char *b = (unsigned char *)&v[i], t;
    t = b[0], b[0] = b[3], b[3] = t;
    t = b[1], b[1] = b[2], b[2] = t;
  }
}

/* ---- scalar functions ------------------------------------------------------ */

/* kse_embed(text [, model_dir]) -> float32 BLOB of kse_dim floats. */
static void fn_embed(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  if (sqlite3_value_type(argv[0]) == SQLITE_NULL) return; /* NULL in, NULL out */
  if (!require_text(ctx, argv[0], "kse_embed")) return;
  kse_encoder *enc = encoder_of(ctx, sqlite3_user_data(ctx), argc > 1 ? argv[1] : NULL, "kse_embed");
  if (enc == NULL) return;
  const char *text = (const char *)sqlite3_value_text(argv[0]);
  size_t len = (size_t)sqlite3_value_bytes(argv[0]);
  size_t dim = kse_dim(enc);
  float *out = sqlite3_malloc64(dim * sizeof *out);
  if (out == NULL) {
    sqlite3_result_error_nomem(ctx);
    return;
  }
  kse_error err;
  if (kse_encode(enc, &text, &len, 1, out, dim, NULL, &err) != KSE_OK) {
    sqlite3_free(out);
    kse_failed(ctx, "kse_embed", &err);
    return;
  }
  to_little_endian(out, dim);
  sqlite3_result_blob64(ctx, out, dim * sizeof *out, sqlite3_free);
}

/* kse_tokens(text [, model_dir]) -> tokens the model would see, untruncated. */
static void fn_tokens(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  if (sqlite3_value_type(argv[0]) == SQLITE_NULL) return;
  if (!require_text(ctx, argv[0], "kse_tokens")) return;
  kse_encoder *enc = encoder_of(ctx, sqlite3_user_data(ctx), argc > 1 ? argv[1] : NULL, "kse_tokens");
  if (enc == NULL) return;
  size_t n = 0;
  kse_error err;
  if (kse_count_tokens(enc, (const char *)sqlite3_value_text(argv[0]), (size_t)sqlite3_value_bytes(argv[0]), &n,
                       &err) != KSE_OK) {
    kse_failed(ctx, "kse_tokens", &err);
    return;
  }
  sqlite3_result_int64(ctx, (sqlite3_int64)n);
}

static float le_float(const unsigned char *p) {
  uint32_t u = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
  float f;
  memcpy(&f, &u, sizeof f);
  return f;
}

/* kse_cosine(blob, blob) -> cosine similarity of two float32 vectors; NULL
 * if either is NULL or has norm 0. */
static void fn_cosine(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  (void)argc;
  if (sqlite3_value_type(argv[0]) == SQLITE_NULL || sqlite3_value_type(argv[1]) == SQLITE_NULL) return;
  for (int i = 0; i < 2; i++) {
    if (sqlite3_value_type(argv[i]) != SQLITE_BLOB) {
      char *m = sqlite3_mprintf("kse_cosine: argument %d must be a float32 blob (from kse_embed), got %s", i + 1,
                                type_name(sqlite3_value_type(argv[i])));
      sqlite3_result_error(ctx, m ? m : "kse_cosine: arguments must be blobs", -1);
      sqlite3_free(m);
      return;
    }
  }
  int na = sqlite3_value_bytes(argv[0]), nb = sqlite3_value_bytes(argv[1]);
  const unsigned char *a = sqlite3_value_blob(argv[0]), *b = sqlite3_value_blob(argv[1]);
  if (na != nb || na % 4 != 0 || na == 0) {
    char *m = na % 4 || nb % 4 || na == 0 || nb == 0
                  ? sqlite3_mprintf("kse_cosine: blobs of %d and %d bytes are not non-empty float32 vectors", na, nb)
                  : sqlite3_mprintf("kse_cosine: vectors of different dimensions (%d and %d)", na / 4, nb / 4);
    sqlite3_result_error(ctx, m ? m : "kse_cosine: bad vectors", -1);
    sqlite3_free(m);
    return;
  }
  double dot = 0, aa = 0, bb = 0;
  for (int i = 0; i < na; i += 4) {
    double x = le_float(a + i), y = le_float(b + i);
    dot += x * y, aa += x * x, bb += y * y;
  }
  if (aa == 0 || bb == 0) return; /* undefined: NULL */
  sqlite3_result_double(ctx, dot / (sqrt(aa) * sqrt(bb)));
}

/* kse_setup(model_dir [, threads [, sessions]]) -> the model's name. Loads
 * the model (NULL: the default model) and makes it this connection's. */
static void fn_setup(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  struct conn *c = sqlite3_user_data(ctx);
  sqlite3_int64 threads = 0, sessions = 1;
  if (sqlite3_value_type(argv[0]) != SQLITE_NULL && sqlite3_value_type(argv[0]) != SQLITE_TEXT) {
    sqlite3_result_error(ctx, "kse_setup: the model directory must be text (or NULL for the default model)", -1);
    return;
  }
  for (int i = 1; i < argc; i++) {
    sqlite3_int64 v = sqlite3_value_int64(argv[i]);
    if (sqlite3_value_type(argv[i]) != SQLITE_INTEGER || v < (i == 1 ? 0 : 1) || v > 256) {
      sqlite3_result_error(ctx,
                           i == 1 ? "kse_setup: threads must be an integer from 0 (the library's choice) to 256"
                                  : "kse_setup: sessions must be an integer from 1 to 256",
                           -1);
      return;
    }
    if (i == 1) threads = v;
    else sessions = v;
  }
  const char *dir = sqlite3_value_type(argv[0]) == SQLITE_NULL ? NULL : (const char *)sqlite3_value_text(argv[0]);
  char *msg = NULL;
  kse_encoder *enc = encoder_for(dir, (unsigned)threads, (unsigned)sessions, &msg);
  if (enc == NULL) {
    char *m = sqlite3_mprintf("kse_setup: %s", msg ? msg : "out of memory");
    sqlite3_result_error(ctx, m ? m : "kse_setup failed", -1);
    sqlite3_free(m);
    sqlite3_free(msg);
    return;
  }
  char *copy = dir ? sqlite3_mprintf("%s", dir) : NULL;
  if (dir != NULL && copy == NULL) {
    sqlite3_result_error_nomem(ctx);
    return;
  }
  pthread_mutex_lock(&c->lock);
  sqlite3_free(c->model_dir);
  c->model_dir = copy;
  c->threads = (unsigned)threads;
  c->sessions = (unsigned)sessions;
  pthread_mutex_unlock(&c->lock);
  sqlite3_result_text(ctx, kse_model_name(enc), -1, SQLITE_TRANSIENT);
}

/* kse_model([model_dir]) -> JSON: name, dim, max_tokens of the model in use. */
static void fn_model(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  kse_encoder *enc = encoder_of(ctx, sqlite3_user_data(ctx), argc > 0 ? argv[0] : NULL, "kse_model");
  if (enc == NULL) return;
  char *j = sqlite3_mprintf("{\"name\":\"%w\",\"dim\":%llu,\"max_tokens\":%llu}", kse_model_name(enc),
                            (unsigned long long)kse_dim(enc), (unsigned long long)kse_max_tokens(enc));
  if (j == NULL) {
    sqlite3_result_error_nomem(ctx);
    return;
  }
  sqlite3_result_text(ctx, j, -1, sqlite3_free);
}

static void fn_version(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  (void)argc, (void)argv;
  sqlite3_result_text(ctx, kse_version(), -1, SQLITE_STATIC);
}

/* ---- kse_embed_column(table, column [, model_dir]): the batched path -------- */

enum { COL_EMBEDDING, COL_TABLE, COL_COLUMN, COL_MODEL };

struct col_vtab {
  sqlite3_vtab base;
  sqlite3 *db;
  struct conn *conn;
};

struct col_cursor {
  sqlite3_vtab_cursor base;
  sqlite3_stmt *rows;    /* SELECT rowid, column FROM table */
  int done;              /* rows has no more */
  kse_encoder *enc;
  size_t dim;
  char *table, *column;  /* for messages */
  sqlite3_int64 rowids[KSE_SQLITE_BATCH];
  size_t vec_row[KSE_SQLITE_BATCH]; /* row i's vector in `vectors`, SIZE_MAX for NULL text */
  const char *ptrs[KSE_SQLITE_BATCH]; /* the texts of the batch's text rows */
  size_t lens[KSE_SQLITE_BATCH], offs[KSE_SQLITE_BATCH];
  int n, at;             /* rows in the batch, the current one */
  float *vectors;        /* n x dim */
  char *texts;           /* the batch's texts, back to back */
  size_t texts_cap;
};

static int col_connect(sqlite3 *db, void *aux, int argc, const char *const *argv, sqlite3_vtab **out, char **err) {
  (void)argc, (void)argv, (void)err;
  int rc = sqlite3_declare_vtab(db, "CREATE TABLE x(embedding BLOB, tbl HIDDEN, col HIDDEN, model HIDDEN)");
  if (rc != SQLITE_OK) return rc;
  struct col_vtab *v = sqlite3_malloc(sizeof *v);
  if (v == NULL) return SQLITE_NOMEM;
  memset(v, 0, sizeof *v);
  v->db = db;
  v->conn = aux;
  *out = &v->base;
  return SQLITE_OK;
}

static int col_disconnect(sqlite3_vtab *v) {
  sqlite3_free(v);
  return SQLITE_OK;
}

/* Table and column are required (equality constraints on the hidden columns,
 * i.e. the function's arguments); the model directory is optional. idxNum
 * bit 0 says whether a model argument was given. */
static int col_best_index(sqlite3_vtab *v, sqlite3_index_info *info) {
  int where[3] = {-1, -1, -1};
  for (int i = 0; i < info->nConstraint; i++) {
    const struct sqlite3_index_constraint *c = &info->aConstraint[i];
    if (c->iColumn < COL_TABLE || c->op != SQLITE_INDEX_CONSTRAINT_EQ) continue;
    if (!c->usable) return SQLITE_CONSTRAINT;
    where[c->iColumn - COL_TABLE] = i;
  }
  if (where[0] < 0 || where[1] < 0) {
    sqlite3_free(v->zErrMsg);
    v->zErrMsg = sqlite3_mprintf("kse_embed_column: give a table and a column: kse_embed_column('table', 'column')");
    return SQLITE_ERROR;
  }
  int arg = 1;
  for (int k = 0; k < 3; k++) {
    if (where[k] < 0) continue;
    info->aConstraintUsage[where[k]].argvIndex = arg++;
    info->aConstraintUsage[where[k]].omit = 1;
  }
  info->idxNum = where[2] >= 0;
  info->estimatedCost = 1e6;
  info->estimatedRows = 100000;
  return SQLITE_OK;
}

static int col_open(sqlite3_vtab *v, sqlite3_vtab_cursor **out) {
  (void)v;
  struct col_cursor *c = sqlite3_malloc(sizeof *c);
  if (c == NULL) return SQLITE_NOMEM;
  memset(c, 0, sizeof *c);
  *out = &c->base;
  return SQLITE_OK;
}

static void col_reset(struct col_cursor *c) {
  sqlite3_finalize(c->rows);
  c->rows = NULL;
  sqlite3_free(c->vectors);
  c->vectors = NULL;
  sqlite3_free(c->table);
  sqlite3_free(c->column);
  c->table = c->column = NULL;
  c->n = c->at = 0;
  c->done = 1;
}

static int col_close(sqlite3_vtab_cursor *cur) {
  struct col_cursor *c = (struct col_cursor *)cur;
  col_reset(c);
  sqlite3_free(c->texts);
  sqlite3_free(c);
  return SQLITE_OK;
}

static int col_error(struct col_cursor *c, int rc, char *msg) {
  sqlite3_free(c->base.pVtab->zErrMsg);
  c->base.pVtab->zErrMsg = msg;
  return msg == NULL ? SQLITE_NOMEM : rc;
}

/* Reads the next rows of the column and embeds them in one kse_encode call. */
static int col_fill(struct col_cursor *c) {
  const char **ptrs = c->ptrs;
  size_t *lens = c->lens, *offs = c->offs;
  size_t used = 0, n_text = 0;
  c->n = c->at = 0;
  while (!c->done && c->n < KSE_SQLITE_BATCH) {
    int rc = sqlite3_step(c->rows);
    if (rc == SQLITE_DONE) {
      c->done = 1;
      break;
    }
    if (rc != SQLITE_ROW)
      return col_error(c, rc, sqlite3_mprintf("kse_embed_column: reading \"%w\".\"%w\": %s", c->table, c->column,
                                              sqlite3_errmsg(sqlite3_db_handle(c->rows))));
    int i = c->n++;
    c->rowids[i] = sqlite3_column_int64(c->rows, 0);
    int type = sqlite3_column_type(c->rows, 1);
    c->vec_row[i] = SIZE_MAX;
    if (type == SQLITE_NULL) continue;
    if (type != SQLITE_TEXT)
      return col_error(c, SQLITE_ERROR,
                       sqlite3_mprintf("kse_embed_column: row %lld of \"%w\".\"%w\" holds %s, not text",
                                       (long long)c->rowids[i], c->table, c->column, type_name(type)));
    const unsigned char *t = sqlite3_column_text(c->rows, 1);
    size_t len = (size_t)sqlite3_column_bytes(c->rows, 1);
    if (used + len + 1 > c->texts_cap) {
      size_t cap = (used + len + 1) * 2;
      char *grown = sqlite3_realloc64(c->texts, cap);
      if (grown == NULL) return SQLITE_NOMEM;
      c->texts = grown;
      c->texts_cap = cap;
    }
    memcpy(c->texts + used, t, len);
    offs[n_text] = used;
    lens[n_text] = len;
    c->vec_row[i] = n_text;
    used += len;
    n_text++;
  }
  for (size_t k = 0; k < n_text; k++) ptrs[k] = c->texts + offs[k];
  if (n_text > 0) {
    kse_error err;
    /* Rows with text fill `vectors` in order; vec_row maps rows to them. */
    if (kse_encode(c->enc, ptrs, lens, n_text, c->vectors, (size_t)KSE_SQLITE_BATCH * c->dim, NULL, &err) != KSE_OK)
      return col_error(c, SQLITE_ERROR,
                       sqlite3_mprintf("kse_embed_column: \"%w\".\"%w\" near row %lld: kse: %s", c->table, c->column,
                                       (long long)c->rowids[c->n - 1], err.message));
    to_little_endian(c->vectors, n_text * c->dim);
  }
  return SQLITE_OK;
}

static int col_filter(sqlite3_vtab_cursor *cur, int idx_num, const char *idx_str, int argc, sqlite3_value **argv) {
  (void)idx_str, (void)argc;
  struct col_cursor *c = (struct col_cursor *)cur;
  struct col_vtab *v = (struct col_vtab *)cur->pVtab;
  col_reset(c);
  for (int i = 0; i < 2; i++) {
    if (sqlite3_value_type(argv[i]) != SQLITE_TEXT)
      return col_error(c, SQLITE_ERROR,
                       sqlite3_mprintf("kse_embed_column: the %s name must be text, got %s", i ? "column" : "table",
                                       type_name(sqlite3_value_type(argv[i]))));
  }
  c->table = sqlite3_mprintf("%s", (const char *)sqlite3_value_text(argv[0]));
  c->column = sqlite3_mprintf("%s", (const char *)sqlite3_value_text(argv[1]));
  if (c->table == NULL || c->column == NULL) return SQLITE_NOMEM;

  /* The encoder: the model argument, else the connection's model. */
  char *msg;
  c->enc = conn_encoder(v->conn, idx_num & 1 ? argv[2] : NULL, "kse_embed_column", &msg);
  if (c->enc == NULL) return col_error(c, SQLITE_ERROR, msg);
  c->dim = kse_dim(c->enc);
  c->vectors = sqlite3_malloc64((sqlite3_uint64)KSE_SQLITE_BATCH * c->dim * sizeof(float));
  if (c->vectors == NULL) return SQLITE_NOMEM;

  /* Identifiers quoted with %w: any table or column name, no SQL injection.
   * The column is qualified by its table, so a missing one is an error
   * rather than SQLite's fallback of reading "name" as a string. */
  char *sql = sqlite3_mprintf("SELECT \"%w\".rowid, \"%w\".\"%w\" FROM \"%w\"", c->table, c->table, c->column,
                              c->table);
  if (sql == NULL) return SQLITE_NOMEM;
  int rc = sqlite3_prepare_v2(v->db, sql, -1, &c->rows, NULL);
  sqlite3_free(sql);
  if (rc != SQLITE_OK)
    return col_error(c, rc, sqlite3_mprintf("kse_embed_column: %s", sqlite3_errmsg(v->db)));
  c->done = 0;
  return col_fill(c);
}

static int col_next(sqlite3_vtab_cursor *cur) {
  struct col_cursor *c = (struct col_cursor *)cur;
  if (++c->at < c->n) return SQLITE_OK;
  return c->done ? SQLITE_OK : col_fill(c);
}

static int col_eof(sqlite3_vtab_cursor *cur) {
  const struct col_cursor *c = (const struct col_cursor *)cur;
  return c->at >= c->n;
}

static int col_column(sqlite3_vtab_cursor *cur, sqlite3_context *ctx, int i) {
  const struct col_cursor *c = (const struct col_cursor *)cur;
  switch (i) {
    case COL_EMBEDDING: {
      size_t k = c->vec_row[c->at];
      if (k != SIZE_MAX) sqlite3_result_blob64(ctx, c->vectors + k * c->dim, c->dim * sizeof(float), SQLITE_TRANSIENT);
      break;
    }
    case COL_TABLE: sqlite3_result_text(ctx, c->table, -1, SQLITE_TRANSIENT); break;
    case COL_COLUMN: sqlite3_result_text(ctx, c->column, -1, SQLITE_TRANSIENT); break;
    default: break; /* the model argument reads back as NULL */
  }
  return SQLITE_OK;
}

/* The row's rowid is the source row's rowid. */
static int col_rowid(sqlite3_vtab_cursor *cur, sqlite3_int64 *out) {
  const struct col_cursor *c = (const struct col_cursor *)cur;
  *out = c->rowids[c->at];
  return SQLITE_OK;
}

static sqlite3_module column_module = {
    .iVersion = 0,
    .xCreate = NULL, /* eponymous only: used as a table-valued function */
    .xConnect = col_connect,
    .xBestIndex = col_best_index,
    .xDisconnect = col_disconnect,
    .xDestroy = col_disconnect,
    .xOpen = col_open,
    .xClose = col_close,
    .xFilter = col_filter,
    .xNext = col_next,
    .xEof = col_eof,
    .xColumn = col_column,
    .xRowid = col_rowid,
};

/* ---- entry point ------------------------------------------------------------ */

#ifdef _WIN32
__declspec(dllexport)
#endif
int sqlite3_ksesqlite_init(sqlite3 *db, char **err, const sqlite3_api_routines *api) {
  SQLITE_EXTENSION_INIT2(api);
  if (kse_version_number() / 100 != KSE_VERSION_NUMBER / 100) {
    *err = sqlite3_mprintf("kse_sqlite was built for kse %d.%d but libkse is %s", KSE_VERSION_MAJOR,
                           KSE_VERSION_MINOR, kse_version());
    return SQLITE_ERROR;
  }
  struct conn *c = sqlite3_malloc(sizeof *c);
  if (c == NULL) return SQLITE_NOMEM;
  memset(c, 0, sizeof *c);
  pthread_mutex_init(&c->lock, NULL);
  c->sessions = 1;
  /* Functions that read a path the caller names may not run from triggers,
   * views or schema (SQLITE_DIRECTONLY); the others are innocuous. */
  const int det = SQLITE_UTF8 | SQLITE_DETERMINISTIC;
  struct {
    const char *name;
    int argc, flags;
    void (*fn)(sqlite3_context *, int, sqlite3_value **);
  } fns[] = {
      {"kse_embed", 1, det | SQLITE_INNOCUOUS, fn_embed},
      {"kse_embed", 2, det | SQLITE_DIRECTONLY, fn_embed},
      {"kse_tokens", 1, det | SQLITE_INNOCUOUS, fn_tokens},
      {"kse_tokens", 2, det | SQLITE_DIRECTONLY, fn_tokens},
      {"kse_cosine", 2, det | SQLITE_INNOCUOUS, fn_cosine},
      {"kse_model", 0, det | SQLITE_INNOCUOUS, fn_model},
      {"kse_model", 1, det | SQLITE_DIRECTONLY, fn_model},
      {"kse_version", 0, det | SQLITE_INNOCUOUS, fn_version},
      {"kse_setup", 1, SQLITE_UTF8 | SQLITE_DIRECTONLY, fn_setup},
      {"kse_setup", 2, SQLITE_UTF8 | SQLITE_DIRECTONLY, fn_setup},
  };
  /* kse_setup/3 owns the connection state: SQLite calls conn_free when the
   * connection closes, or at once if this registration fails. */
  int rc = sqlite3_create_function_v2(db, "kse_setup", 3, SQLITE_UTF8 | SQLITE_DIRECTONLY, c, fn_setup, NULL, NULL,
                                      conn_free);
  for (size_t i = 0; rc == SQLITE_OK && i < sizeof fns / sizeof fns[0]; i++)
    rc = sqlite3_create_function_v2(db, fns[i].name, fns[i].argc, fns[i].flags, c, fns[i].fn, NULL, NULL, NULL);
  if (rc == SQLITE_OK) rc = sqlite3_create_module_v2(db, "kse_embed_column", &column_module, c, NULL);
  return rc;
}
