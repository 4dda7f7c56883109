/*  =========================================================================
    bench_stores - the stores the benchmarks compare, each fresh per figure

    bench_core --stores and bench_e2e --store / --store-compare measure
    the same work on several stores in one run, and print each figure as
    a ratio to the file store's of that run (the machine is shared: only
    figures taken minutes apart compare). A list names stores by kind or
    by spec:

        memory      memory:
        file        file:DIR/FIGURE?fsync=always          (DIR: the run's)
        sqlite      sqlite:DIR/FIGURE.db?sync=full
        postgres    a database FIGURE of a PostgreSQL server the bench
                    starts itself (tests/pg_server.sh, fsync on, in DIR)
                    and stops at its end (#lease=60s: see below)
        all         the four above
        SPEC        any other store spec, used as it is for every figure

    so that a kind gets a fresh, empty store for each figure, the way a
    broker starts on a new deployment, and each store is as durable as it
    can be made (fsync=always, sync=full, a server with fsync on): the
    honest figures, the ones an operator will see.

    Header-only (static functions), since bench/bench_*.c are programs
    of their own; included by bench_core.c and by bench/e2e/.
    ========================================================================= */

#ifndef BENCH_STORES_H_INCLUDED
#define BENCH_STORES_H_INCLUDED

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BENCH_STORES_MAX 8   //  stores in one list
#define BENCH_SPEC_MAX 1024  //  bytes of a spec, with the NUL

typedef struct {
    char kind [16];              //  memory, file, sqlite, postgres; or spec
    char spec [BENCH_SPEC_MAX];  //  the spec given (kind "spec"), else ""
} bench_store_t;

//  The bench's own PostgreSQL server: its directory ("" = none running)
//  and its connection string (dbname=postgres)
__attribute__ ((unused)) static char bench_pg_dir [BENCH_SPEC_MAX];
__attribute__ ((unused)) static char bench_pg_conninfo [512];
__attribute__ ((unused)) static pid_t bench_pg_owner;  //  Who started it (not a forked child)

//  Parse list (kinds and specs separated by commas; "all") into stores.
//  Returns their number, or 0 after saying what is wrong on stderr.
static inline size_t
bench_stores_parse (const char *list, bench_store_t *stores)
{
    size_t count = 0;
    for (const char *at = list; *at;) {
        size_t length = strcspn (at, ",");
        char item [BENCH_SPEC_MAX];
        snprintf (item, sizeof item, "%.*s", (int) length, at);
        at += length + (at [length] == ',');
        const char *kinds [] = { "memory", "file", "sqlite", "postgres" };
        bool all = streq (item, "all");
        for (size_t kind = 0; kind < 4; kind++) {
            if ((all || streq (item, kinds [kind])) && count < BENCH_STORES_MAX) {
                snprintf (stores [count].kind, sizeof stores [count].kind, "%s", kinds [kind]);
                stores [count++].spec [0] = 0;
            }
        }
        if (all || streq (item, "memory") || streq (item, "file") || streq (item, "sqlite")
            || streq (item, "postgres"))
            continue;
        if (!strchr (item, ':') || count == BENCH_STORES_MAX) {
            fprintf (stderr, "bench: '%s' is no store: give memory, file, sqlite, postgres, "
                             "all or a store spec (at most %d)\n",
                     item, BENCH_STORES_MAX);
            return 0;
        }
        snprintf (stores [count].kind, sizeof stores [count].kind, "spec");
        snprintf (stores [count++].spec, BENCH_SPEC_MAX, "%s", item);
    }
    return count;
}

//  The store's name in a table: its kind, or the scheme of its spec
static inline const char *
bench_store_label (const bench_store_t *store, char *label, size_t size)
{
    if (store->spec [0])
        snprintf (label, size, "%.*s", (int) strcspn (store->spec, ":"), store->spec);
    else
        snprintf (label, size, "%s", store->kind);
    return label;
}

static inline void
bench_pg_quiet (void *arg, const char *message)
{
    (void) arg;
    (void) message;  //  "database ... does not exist, skipping"
}

//  Run sql on the server of conninfo; 0, or -1 after saying why
static inline int
bench_pg_command (const char *conninfo, const char *sql)
{
    PGconn *conn = PQconnectdb (conninfo);
    PQsetNoticeProcessor (conn, bench_pg_quiet, NULL);
    PGresult *result = PQstatus (conn) == CONNECTION_OK ? PQexec (conn, sql) : NULL;
    int rc = result && PQresultStatus (result) == PGRES_COMMAND_OK ? 0 : -1;
    if (rc)
        fprintf (stderr, "bench: %s: %s", sql, PQerrorMessage (conn));
    PQclear (result);
    PQfinish (conn);
    return rc;
}

//  Stop the bench's PostgreSQL server, if it runs (also at exit)
static inline void
bench_pg_stop (void)
{
    if (!bench_pg_dir [0] || getpid () != bench_pg_owner)
        return;
    char command [2 * BENCH_SPEC_MAX];
    snprintf (command, sizeof command, "'%s/tests/pg_server.sh' stop '%s' >/dev/null",
              ZJOB_SOURCE_DIR, bench_pg_dir);
    if (system (command))
        fprintf (stderr, "bench: %s failed\n", command);
    bench_pg_dir [0] = 0;
}

//  Start a PostgreSQL server of the bench's own under dir/pg (fsync on),
//  unless one runs; 0, or -1 after saying why
static inline int
bench_pg_start (const char *dir)
{
    if (bench_pg_dir [0])
        return 0;
    snprintf (bench_pg_dir, sizeof bench_pg_dir, "%s/pg", dir);
    char command [2 * BENCH_SPEC_MAX];
    snprintf (command, sizeof command, "'%s/tests/pg_server.sh' start '%s' >/dev/null",
              ZJOB_SOURCE_DIR, bench_pg_dir);
    bench_pg_owner = getpid ();
    atexit (bench_pg_stop);
    char path [BENCH_SPEC_MAX + 16];
    snprintf (path, sizeof path, "%s/conninfo", bench_pg_dir);
    FILE *file = system (command) == 0 ? fopen (path, "r") : NULL;
    if (!file || !fgets (bench_pg_conninfo, sizeof bench_pg_conninfo, file)) {
        fprintf (stderr, "bench: cannot start PostgreSQL (%s)\n", command);
        if (file)
            fclose (file);
        return -1;
    }
    fclose (file);
    bench_pg_conninfo [strcspn (bench_pg_conninfo, "\n")] = 0;
    return 0;
}

//  A fresh spec of store for the figure named figure (letters, digits,
//  '_' and '-'), its files under dir; for postgres a new database on the
//  bench's server (started on first use). Returns 0, or -1 after saying why.
static inline int
bench_store_fresh (const bench_store_t *store, const char *dir, const char *figure,
                   char *spec, size_t size)
{
    if (store->spec [0])
        snprintf (spec, size, "%s", store->spec);
    else if (streq (store->kind, "memory"))
        snprintf (spec, size, "memory:");
    else if (streq (store->kind, "file"))
        snprintf (spec, size, "file:%s/%s?fsync=always", dir, figure);
    else if (streq (store->kind, "sqlite"))
        snprintf (spec, size, "sqlite:%s/%s.db?sync=full", dir, figure);
    else {
        if (bench_pg_start (dir))
            return -1;
        char database [64], sql [128];
        snprintf (database, sizeof database, "zjob_bench_%.40s", figure);
        for (char *at = database; *at; at++)
            *at = *at == '-' ? '_' : *at;
        snprintf (sql, sizeof sql, "DROP DATABASE IF EXISTS %s", database);
        bench_pg_command (bench_pg_conninfo, sql);
        snprintf (sql, sizeof sql, "CREATE DATABASE %s", database);
        if (bench_pg_command (bench_pg_conninfo, sql))
            return -1;
        //  A lease of 60 s, not the default 5 s: the active broker's
        //  session dies after idling for its lease (idle_session_timeout),
        //  and between zjob_store_acquire and the manager's first sync a
        //  reopen of 1,000,000 jobs spends more than 5 s rebuilding the
        //  queue here. The lease changes no figure: commits are fenced
        //  alike, and renewed by every sync.
        snprintf (spec, size, "postgres:%s dbname=%s#lease=60s", bench_pg_conninfo, database);
    }
    return 0;
}

#endif
