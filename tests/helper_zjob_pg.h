/*  =========================================================================
    helper_zjob_pg - a fresh PostgreSQL database for a test

    The tests that need PostgreSQL run against a real server that the
    CTest fixture "pg" starts before them (tests/pg_server.sh) and stops
    after; $ZJOB_TEST_PG names the file that holds its connection string.
    Each test makes a database of its own, so tests run in parallel
    without seeing each other's jobs. A test that needs the server and
    finds none fails: nothing is skipped in silence.
    ========================================================================= */

#ifndef HELPER_ZJOB_PG_H_INCLUDED
#define HELPER_ZJOB_PG_H_INCLUDED

#include <stdbool.h>

//  Whether a server is there ($ZJOB_TEST_PG names a readable file).
bool
zjob_test_pg_available (void);

//  The server's connection string (libpq key=value, dbname=postgres),
//  or NULL, with the reason on stderr, if there is no server. Free it.
char *
zjob_test_pg_server (void);

//  Make a fresh, empty database and return the connection string of it
//  (free it), or NULL, with the reason on stderr.
char *
zjob_test_pg_new_db (void);

//  Drop the database of conninfo (made by zjob_test_pg_new_db), even
//  with sessions still open on it. Accepts NULL.
void
zjob_test_pg_drop_db (const char *conninfo);

//  Run sql on the database of conninfo and return the first column of
//  the first row as a string (free it; "" for no row), or NULL on an
//  error, printed on stderr. For tests that look at the tables.
char *
zjob_test_pg_query (const char *conninfo, const char *sql);

#endif
