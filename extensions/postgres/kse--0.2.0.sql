/* kse--0.2.0.sql: Korean sentence embeddings through libkse's C API. */

\echo Use "CREATE EXTENSION kse" to load this file. \quit

-- Embedding of one text, a real[] of the model's dimension (L2-normalised by
-- the default model). STABLE, not IMMUTABLE: the result depends on the model
-- that kse.model_dir (and the installed default model) select, which can change
-- without the function changing, so it must not be used in index expressions
-- or generated columns. Each backend loads the model once, on first use.
CREATE FUNCTION kse_embed(text)
RETURNS real[]
AS 'MODULE_PATHNAME', 'kse_pg_embed'
LANGUAGE C STABLE STRICT PARALLEL SAFE;

-- Embeddings of many texts, one row per element in input order (a NULL element
-- gives a NULL row), encoded in batches of 256 texts; query cancel and
-- statement_timeout stop it between batches. Pair rows with their input by
-- position:  SELECT t.ord, t.emb FROM kse_embed(arr) WITH ORDINALITY AS t(emb, ord)
CREATE FUNCTION kse_embed(texts text[])
RETURNS SETOF real[]
AS 'MODULE_PATHNAME', 'kse_pg_embed_batch'
LANGUAGE C STABLE STRICT PARALLEL SAFE;

-- Tokens the model would see for the text without truncation, special and
-- prefix tokens included (kse_count_tokens). STABLE: depends on the model.
CREATE FUNCTION kse_tokens(text)
RETURNS integer
AS 'MODULE_PATHNAME', 'kse_pg_tokens'
LANGUAGE C STABLE STRICT PARALLEL SAFE;

-- Cosine similarity of two real[] vectors of the same length, in double
-- precision. NULL when either vector has norm zero; an ERROR for vectors of
-- different lengths, with NULL elements, not one-dimensional, or empty.
CREATE FUNCTION kse_cosine(real[], real[])
RETURNS float8
AS 'MODULE_PATHNAME', 'kse_pg_cosine'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

-- Version of the libkse the server loaded.
CREATE FUNCTION kse_version()
RETURNS text
AS 'MODULE_PATHNAME', 'kse_pg_version'
LANGUAGE C STABLE PARALLEL SAFE;

-- The backend's model (loading it if needed): its name, dimension and max tokens.
CREATE FUNCTION kse_model()
RETURNS TABLE(name text, dim integer, max_tokens integer)
AS 'MODULE_PATHNAME', 'kse_pg_model'
LANGUAGE C STABLE PARALLEL SAFE
ROWS 1;
