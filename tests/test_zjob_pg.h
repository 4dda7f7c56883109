/*  =========================================================================
    test_zjob_pg - helpers of the PostgreSQL store's tests (static inline)

    Most tests use the fixture's server (a fresh database each, through
    helper_zjob_pg.h). A test that stops the server cannot: the others
    run on it at the same time. It starts a private server of its own
    with tests/pg_server.sh in its temporary directory, stops it with
    pg_ctl -m immediate (as a crash would) and starts it again on the
    same port and data.
    ========================================================================= */

#ifndef TEST_ZJOB_PG_H_INCLUDED
#define TEST_ZJOB_PG_H_INCLUDED

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "helper_zjob_pg.h"
#include "helper_zjob_test.h"

//  A private server started by pg_server.sh in dir
typedef struct {
    char *dir;            //  The test's temporary directory
    char conninfo [512];  //  Its connection string (dbname=postgres)
    char data [256];      //  Its data directory (pg_server.sh's datadir)
    int port;
} zjob_test_pg_private_t;

//  Read the first line of path into buffer; cr_assert it is there
static inline void
zjob_test_pg_read_line (const char *path, char *buffer, size_t size)
{
    FILE *file = fopen (path, "r");
    cr_assert_not_null (file, "cannot read %s", path);
    cr_assert_not_null (fgets (buffer, (int) size, file), "%s is empty", path);
    fclose (file);
    buffer [strcspn (buffer, "\r\n")] = 0;
}

//  Run a shell command, cr_assert it exits 0
static inline void
zjob_test_pg_shell (const char *command)
{
    int rc = system (command);
    cr_assert_eq (rc, 0, "'%s' exited with %d", command, rc);
}

//  pg_ctl ACTION on the private server, as its user (postgres when root)
static inline void
zjob_test_pg_ctl (zjob_test_pg_private_t *self, const char *action)
{
    const char *as = getuid () == 0 ? "runuser -u postgres -- " : "";
    char *command;
    if (streq (action, "stop"))
        command = zsys_sprintf ("%s$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)/pg_ctl "
                                "-D %s/db -m immediate -w stop >/dev/null",
                                as, self->data);
    else
        command = zsys_sprintf ("%s$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)/pg_ctl "
                                "-D %s/db -l %s/server.log -w -t 60 -o '-p %d -k %s "
                                "-c listen_addresses=127.0.0.1' start >/dev/null",
                                as, self->data, self->data, self->port, self->data);
    zjob_test_pg_shell (command);
    zstr_free (&command);
}

//  Start a private server in a new temporary directory
static inline void
zjob_test_pg_private_start (zjob_test_pg_private_t *self)
{
    memset (self, 0, sizeof *self);
    self->dir = zjob_test_tmpdir ();
    cr_assert_not_null (self->dir);
    //  Not --fast: with synchronous_commit off, the immediate stop would
    //  lose commits the store was told were made
    char *command = zsys_sprintf ("%s/tests/pg_server.sh start %s/pg >/dev/null",
                                  ZJOB_SOURCE_DIR, self->dir);
    zjob_test_pg_shell (command);
    zstr_free (&command);
    char *path = zsys_sprintf ("%s/pg/conninfo", self->dir);
    zjob_test_pg_read_line (path, self->conninfo, sizeof self->conninfo);
    zstr_free (&path);
    path = zsys_sprintf ("%s/pg/datadir", self->dir);
    zjob_test_pg_read_line (path, self->data, sizeof self->data);
    zstr_free (&path);
    const char *port = strstr (self->conninfo, "port=");
    cr_assert_not_null (port, "no port in %s", self->conninfo);
    self->port = atoi (port + 5);
}

//  Stop and remove the private server and the directory. Safe twice.
static inline void
zjob_test_pg_private_stop (zjob_test_pg_private_t *self)
{
    if (!self->dir)
        return;
    char *command = zsys_sprintf ("%s/tests/pg_server.sh stop %s/pg", ZJOB_SOURCE_DIR, self->dir);
    int rc = system (command);
    (void) rc;
    zstr_free (&command);
    zjob_test_tmpdir_done (&self->dir);
}

//  A fresh database on the fixture's server; cr_assert there is one
static inline char *
zjob_test_pg_db (void)
{
    char *conninfo = zjob_test_pg_new_db ();
    cr_assert_not_null (conninfo, "no PostgreSQL for this test: run it through ctest (the "
                                  "fixture pg), or set ZJOB_TEST_PG (see tests/pg_server.sh)");
    return conninfo;
}

//  The first value of sql on conninfo, as a number (cr_assert it runs)
static inline long long
zjob_test_pg_number (const char *conninfo, const char *sql)
{
    char *value = zjob_test_pg_query (conninfo, sql);
    cr_assert_not_null (value, "%s failed", sql);
    long long number = atoll (value);
    free (value);
    return number;
}

#endif
