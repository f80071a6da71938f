/*
 * core/sqlpath.h - internal to libferry: splitting an endpoint path such as
 * "schema.table", "\"My Schema\".\"T\"" or "`my db`.`odd``name`" into its
 * (optional) schema and its table name.  Dialect-independent: the SQL hooks
 * pass their identifier quote character and say whether unquoted names fold
 * to lower case; they turn a problem into their own error text.
 */
#ifndef FERRY_CORE_SQLPATH_H
#define FERRY_CORE_SQLPATH_H

/* Why a path is not a table name (FERRY_SQL_PATH_OK: it is). */
typedef enum ferry_sql_path_problem {
    FERRY_SQL_PATH_OK = 0,
    FERRY_SQL_PATH_NOMEM,        /* out of memory */
    FERRY_SQL_PATH_EMPTY,        /* an empty part: "", "a.", ".b", "" quoted */
    FERRY_SQL_PATH_UNTERMINATED, /* an opening quote without its closing one */
    FERRY_SQL_PATH_AFTER_QUOTE,  /* text after a quoted part: "a"b */
    FERRY_SQL_PATH_QUOTE_INSIDE, /* the quote character inside an unquoted part */
    FERRY_SQL_PATH_TOO_MANY      /* more than two parts: a.b.c */
} ferry_sql_path_problem;

/* Splits path at its unquoted '.': one part is the table (*schema = NULL),
 * two are schema and table.  A part is either quote-delimited, with the quote
 * doubled inside ("a ""b""" -> a "b"), kept as written, or unquoted up to the
 * next '.' or the end, folded to ASCII lower case when fold_lower is nonzero.
 * On FERRY_SQL_PATH_OK *schema and *name are owned by the caller (free);
 * otherwise both are NULL. */
ferry_sql_path_problem ferry_sql_path_split(const char *path, char quote, int fold_lower,
                                            char **schema, char **name);

#endif
