/*  =========================================================================
    helper_zjob_pg - a fresh PostgreSQL database for a test

    See the header. A database is named zjob_t_PID_N, and its connection
    string is the server's with dbname= appended: libpq takes the last
    value of a keyword given twice.
    ========================================================================= */

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "helper_zjob_pg.h"

bool
zjob_test_pg_available (void)
{
    const char *path = getenv ("ZJOB_TEST_PG");
    return path && *path && access (path, R_OK) == 0;
}

char *
zjob_test_pg_server (void)
{
    const char *path = getenv ("ZJOB_TEST_PG");
    FILE *file = path && *path ? fopen (path, "r") : NULL;
    if (!file) {
        fprintf (stderr, "no PostgreSQL server for this test: $ZJOB_TEST_PG (%s) names no "
                         "readable file. Run it through ctest (the fixture \"pg\" starts one), "
                         "or start one with tests/pg_server.sh start DIR and set "
                         "ZJOB_TEST_PG=DIR/conninfo\n",
                 path ? path : "unset");
        return NULL;
    }
    char line [512] = "";
    char *got = fgets (line, sizeof line, file);
    fclose (file);
    if (!got || !*line) {
        fprintf (stderr, "%s is empty\n", path);
        return NULL;
    }
    line [strcspn (line, "\r\n")] = 0;
    return strdup (line);
}

//  Run one command on the database of conninfo; 0 or -1 (printed)
static int
s_command (const char *conninfo, const char *sql)
{
    PGconn *conn = PQconnectdb (conninfo);
    if (PQstatus (conn) != CONNECTION_OK) {
        fprintf (stderr, "cannot connect to %s: %s", conninfo, PQerrorMessage (conn));
        PQfinish (conn);
        return -1;
    }
    PGresult *result = PQexec (conn, sql);
    int rc = PQresultStatus (result) == PGRES_COMMAND_OK
            || PQresultStatus (result) == PGRES_TUPLES_OK
        ? 0
        : -1;
    if (rc)
        fprintf (stderr, "%s: %s", sql, PQerrorMessage (conn));
    PQclear (result);
    PQfinish (conn);
    return rc;
}

char *
zjob_test_pg_new_db (void)
{
    static int counter = 0;
    char *server = zjob_test_pg_server ();
    if (!server)
        return NULL;
    char name [64];
    snprintf (name, sizeof name, "zjob_t_%d_%d", (int) getpid (), ++counter);
    char sql [128];
    snprintf (sql, sizeof sql, "CREATE DATABASE %s", name);
    if (s_command (server, sql)) {
        free (server);
        return NULL;
    }
    size_t size = strlen (server) + strlen (name) + 16;
    char *conninfo = (char *) malloc (size);
    if (conninfo)
        snprintf (conninfo, size, "%s dbname=%s", server, name);
    free (server);
    return conninfo;
}

void
zjob_test_pg_drop_db (const char *conninfo)
{
    const char *at = conninfo ? strstr (conninfo, " dbname=zjob_t_") : NULL;
    if (!at)
        return;
    char *server = zjob_test_pg_server ();
    if (!server)
        return;
    char sql [160];
    snprintf (sql, sizeof sql, "DROP DATABASE IF EXISTS %.64s WITH (FORCE)", at + 8);
    s_command (server, sql);
    free (server);
}

char *
zjob_test_pg_query (const char *conninfo, const char *sql)
{
    PGconn *conn = PQconnectdb (conninfo);
    if (PQstatus (conn) != CONNECTION_OK) {
        fprintf (stderr, "cannot connect to %s: %s", conninfo, PQerrorMessage (conn));
        PQfinish (conn);
        return NULL;
    }
    PGresult *result = PQexec (conn, sql);
    char *value = NULL;
    if (PQresultStatus (result) == PGRES_TUPLES_OK)
        value = strdup (PQntuples (result) > 0 && PQnfields (result) > 0
                            ? PQgetvalue (result, 0, 0)
                            : "");
    else if (PQresultStatus (result) == PGRES_COMMAND_OK)
        value = strdup ("");
    else
        fprintf (stderr, "%s: %s", sql, PQerrorMessage (conn));
    PQclear (result);
    PQfinish (conn);
    return value;
}
