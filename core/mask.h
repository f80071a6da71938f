/*
 * core/mask.h - which values are secrets, and how every output hides them.
 *
 * Two rules, one module (core/mask.c); every output path (errors, log lines,
 * `conn get`, --json, --dry-run, endpoint display) goes through it:
 *
 *  1. By field.  The value of a secret field is always shown as "***",
 *     whatever it is (also one character, also equal to the login): the
 *     password; an extra, nested JSON member or header whose name is secret
 *     (ferry_mask_secret_name); a value holding a private key
 *     (ferry_mask_secret_value).  In free text the same holds where the field
 *     is visible by its syntax: the password of a URI's userinfo
 *     ("scheme://user:PW@host") and NAME=VALUE with a secret NAME.
 *
 *  2. By occurrence, in free text (server errors, logs): each registered
 *     secret (ferry_secret_add: 3 bytes or more, raw and percent-encoded) is
 *     replaced where it occurs, except
 *       - inside a word the user wrote in a field that is not secret: a
 *         connection's id, type, host, login, schema, any extra or JSON
 *         member name, or a field name of Airflow's JSON (conn_type, login,
 *         host, password, schema, extra ...).  A password equal to the login
 *         leaves the login readable; its own field still shows "***".
 *       - secrets shorter than FERRY_MASK_ANYWHERE_MIN bytes only where they
 *         stand as a whole word: not glued to a letter, digit or '_' (a
 *         password "secret" leaves "aws_secret_access_key" alone).  Longer
 *         secrets (keys, tokens) are masked wherever they appear.
 *     Secrets of 1-2 bytes are not searched for in free text (they would mask
 *     every "a" or "is"); rule 1 still masks them.
 */
#ifndef FERRY_CORE_MASK_H
#define FERRY_CORE_MASK_H

#include <stddef.h>

#include <jansson.h>

#include "ferry/log.h"

#define FERRY_MASK "***"
#define FERRY_MASK_SECRET_MIN 3     /* shortest secret searched for in free text */
#define FERRY_MASK_ANYWHERE_MIN 16  /* shorter secrets: whole words only */

/* Nonzero when a field, extra, JSON member, header or query parameter of this
 * name holds a secret.  Case, '-', '_', '.' and spaces are ignored, then the
 * name must contain one of: secret, token, password, passwd, passphrase,
 * apikey, privatekey, credential, authorization, cookie, accesskey,
 * customerkey (SSE-C).  "key_file" (a path) is not secret. */
int ferry_mask_secret_name(const char *name);

/* Nonzero when the value itself is a secret whatever its name: a private key
 * (PEM/OpenSSH "-----BEGIN ... PRIVATE KEY", PuTTY key file). */
int ferry_mask_secret_value(const char *value);

/* Register a word the user wrote in a field that is not secret (copied;
 * shorter than 3 bytes: ignored).  Thread-safe; ferry_secret_clear forgets. */
void ferry_mask_add_public(const char *word);

/* Register what a parsed JSON value holds: strings under a secret name (or
 * with under_secret set) and private keys as secrets, member names as public
 * words.  v is borrowed. */
void ferry_mask_note_json(const json_t *v, int under_secret);

/* Mask a JSON value in place by field: members with a secret name (and
 * everything under them) and private keys become "***", other strings are
 * masked as free text.  Member names are kept.  Returns v. */
json_t *ferry_mask_json(json_t *v, int under_secret);

/* Free text: ferry_scrub (ferry/log.h) is the one entry point. */

#endif
