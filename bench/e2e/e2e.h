/*  =========================================================================
    e2e - what the parts of bench_e2e share

    bench_e2e (bench/bench_e2e.c: the options, the selection of scenarios
    and main) is built from the files of bench/e2e/, one per role:
    e2e_child.c (time and inputs, the child processes and their pipes of
    fixed-size records, zjobd started and stopped, CPU figures from /proc),
    e2e_echo.c (the plain ZeroMQ echo), e2e_producer.c and e2e_worker.c
    (the bodies of the producer and worker processes), e2e_run.c (one job
    scenario: a fresh zjobd, its workers and producers), e2e_curve.c (the
    keys of the CURVE scenarios), e2e_http.c (the Prometheus server of
    the --http scenarios) and e2e_report.c (the table, the details and
    the medians). What they share carries the
    prefix e2e_: it belongs to this one program. The design of the
    benchmark is at the top of bench/bench_e2e.c.
    ========================================================================= */

#ifndef E2E_H_INCLUDED
#define E2E_H_INCLUDED

#include "zjob_client.h"
#include "zjob_worker.h"
#include <czmq.h>
#include <ftw.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "../bench_stores.h"

#define E2E_PRODUCERS 2               //  producer processes
#define E2E_WORKERS 2                 //  worker processes
#define E2E_INPUT_SIZE 100            //  bytes of msgpack inputs per job
#define E2E_ECHO_WARMUP 1000          //  round trips before the echo clock starts
#define E2E_ECHO_CLIENTS_MAX 4        //  client processes of one echo server
#define E2E_ISSUE_ECHO4_RATE 68000.0  //  round trips/s over 4 connections, same place
#define E2E_READY_MS 15000            //  msecs a child or zjobd has to get ready
#define E2E_STOP_MS 3000              //  msecs a child has to exit before SIGKILL
#define E2E_BROKER_STOP_MS 15000      //  msecs zjobd has to exit after SIGTERM
#define E2E_REPORT_EVERY 1024         //  completions between a worker's reports
#define E2E_REPORT_IDLE_MS 20         //  msecs without a job before a worker reports
#define E2E_WAIT_MIN_NS 20000         //  a recv that took longer waited for a JOB
//  msecs between an idle worker's looks at its
//  control pipe
#define E2E_CONTROL_MS 100
//  children one e2e_next_record follows (bench_peers: up to 64
//  producers and 64 workers)
#define E2E_CHILDREN_MAX 160
//  pipe ends the parent holds at once: two per child, zjobd's stdout
#define E2E_FDS_MAX (2 * E2E_CHILDREN_MAX + 8)
//  round trips/s of one connection's echo
//  where the issue set its targets
#define E2E_ISSUE_ECHO_RATE 20000.0
#define E2E_ENDPOINT_MAX 256  //  bytes in an endpoint, with the NUL
#define E2E_PATH_MAX 1024     //  bytes in a path or store spec, with the NUL

//  Options, set by main from the command line (bench/bench_e2e.c)
extern size_t e2e_jobs;                 //  jobs per pipelined/batched scenario
extern size_t e2e_strict_jobs;          //  jobs per strict scenario
extern size_t e2e_latency_jobs;         //  jobs per latency scenario
extern size_t e2e_echo_trips;           //  round trips per echo client
extern size_t e2e_rounds;               //  times the selection runs (--rounds)
extern double e2e_rate;                 //  jobs/s, in total, in the latency scenarios
extern size_t e2e_window;               //  single-job SUBMITs in flight per producer
extern size_t e2e_batch;                //  specs per SUBMIT, batched scenarios
extern size_t e2e_batch_window;         //  batched SUBMITs in flight per producer
extern size_t e2e_slots;                //  slots per worker, pipelined scenarios
extern int e2e_timeout_s;               //  secs a scenario may take
extern const char *e2e_base_dir;        //  where the file stores go
extern const char *e2e_only;            //  comma-separated scenario keys, or all
extern const char *e2e_max_concurrent;  //  zjobd --max-concurrent (0: no limit)

//  --curve: job scenarios without CURVE (the default), with it, or both,
//  one after the other in each round (compare)
typedef enum { E2E_CURVE_OFF = 0,
               E2E_CURVE_ON,
               E2E_CURVE_COMPARE } e2e_curve_t;
extern e2e_curve_t e2e_curve;

//  --http: job scenarios on a zjobd without its HTTP side (the default),
//  with it (--http 127.0.0.1:0) and a Prometheus server scraping its
//  /metrics every second, or both in turn (compare); at most one of
//  --curve and --http compares
typedef enum { E2E_HTTP_OFF = 0,
               E2E_HTTP_ON,
               E2E_HTTP_COMPARE } e2e_http_t;
extern e2e_http_t e2e_http;

//  --store SPEC: the store of the job scenarios that are not *-file
//  (kind "" = memory:); --store-compare: each of them three times in a
//  round, on the file store (fsync=always), SQLite (sync=full) and a
//  PostgreSQL server of the bench's own (fsync on), in an order that
//  turns by round (bench_stores.h)
extern bench_store_t e2e_store;
extern bool e2e_store_compare;
#define E2E_COMPARED_STORES 3
extern bench_store_t e2e_compared_stores [E2E_COMPARED_STORES];

//  --settle: msecs every job scenario stays idle, its processes ready,
//  before it starts (-1: 2,000 with --http compare, else 0)
extern int e2e_settle_ms;

//  --------------------------------------------------------------------------
//  Scenarios

typedef enum {
    E2E_ECHO = 0,  //  plain ZeroMQ echo, no broker
    E2E_STRICT,    //  one synchronous SUBMIT at a time
    E2E_WINDOW,    //  window single-job SUBMITs in flight
    E2E_BATCH,     //  window SUBMITs of batch specs in flight
    E2E_PACED      //  one SUBMIT at a time, at a fixed rate
} e2e_mode_t;

typedef struct {
    const char *key;  //  name for --only
    char label [64];  //  name in the table
    e2e_mode_t mode;
    bool file;                   //  file store with fsync=always, else memory
    size_t jobs;                 //  jobs in all (echo: clients)
    size_t window;               //  SUBMITs in flight per producer
    size_t batch;                //  specs per SUBMIT
    size_t slots;                //  slots per worker
    double target;               //  jobs/s to reach, 0 = none (latency: not 0 =
                                 //  judged against the latency targets)
    bool single;                 //  workers without batching (ZJOB_WORKER_BATCH=0):
                                 //  one job per JOB, one result per RESULT
    bool curve;                  //  zjobd with CURVE, producers and workers with keys
    bool http;                   //  zjobd with --http, scraped by a Prometheus server
    const bench_store_t *store;  //  NULL: memory, or file if file; else a
                                 //  fresh store of this kind (bench_stores.h)
    size_t variant;              //  --store-compare: which of the stores
} e2e_scenario_t;

//  What a scenario measured
typedef struct {
    bool ran;                              //  it was selected and started
    bool ok;                               //  it finished within its deadline
    char why [256];                        //  what went wrong, when not ok
    double rate;                           //  jobs/s (echo: round trips/s)
    double usecs;                          //  echo: usecs per round trip
    double submit_rate;                    //  jobs acknowledged to producers per sec
    size_t done;                           //  jobs the workers completed
    size_t split [E2E_WORKERS];            //  of which each worker
    int64_t broker_completed;              //  completed according to STATS, -1 unknown
    int64_t fsyncs;                        //  the store's fsyncs per STATS, -1 unknown
    size_t errors;                         //  SUBMITs refused
    double p50, p90, p99, max;             //  latency, usecs
    double cpu_broker;                     //  CPU used during the run, % of one core
                                           //  (echo: server and clients together)
    double cpu_producers [E2E_PRODUCERS];  //  same, each producer process
    double cpu_workers [E2E_WORKERS];      //  same, each worker process
    double cpu_wall;                       //  nsecs the CPU figures cover
    double cpu_sys;                        //  % of all that CPU spent in the kernel
    int64_t waits;                         //  workers' recv calls that waited for a job
    int64_t waited_ns;                     //  the time those calls took, in all
    //  http: what the Prometheus server says it did (-1: unknown)
    double prom_scrapes;    //  scrapes of zjobd's /metrics (samples of up)
    double prom_up;         //  of which succeeded (up = 1)
    double prom_series;     //  zjob_* series it holds at the end
    double prom_scrape_ms;  //  mean scrape_duration_seconds, in ms
    double prom_samples;    //  mean scrape_samples_scraped
    double prom_cpu;        //  CPU Prometheus used during the run, % of one core
    char prom_note [160];   //  what went wrong asking it, or ""
} e2e_result_t;


//  --------------------------------------------------------------------------
//  Child processes and their pipes. A child writes fixed-size records to
//  its report pipe (a write under PIPE_BUF is atomic) and reads commands,
//  a byte and a 64-bit argument, from its control pipe: 'G' go, 'S' check
//  STATS (argument: the jobs expected completed); EOF = stop.

typedef enum {
    E2E_REC_READY = 1,  //  ready; text: an endpoint (echo server)
    E2E_REC_PROGRESS,   //  count completed so far, t1 the last
    E2E_REC_SAMPLE,     //  one latency sample (value, ns) + progress
    E2E_REC_DONE,       //  producer/echo client: count, t0, t1, value errors
    E2E_REC_STATS,      //  count completed per STATS, value queued+active,
                        //  t0 the store's fsyncs (-1 if it has none)
    E2E_REC_FAIL        //  text: why
} e2e_rec_kind_t;

typedef struct {
    int32_t kind;     //  e2e_rec_kind_t
    int32_t index;    //  the child's index in its role
    int64_t count;    //  what the kind counts
    int64_t t0;       //  ns, CLOCK_MONOTONIC
    int64_t t1;       //  ns, CLOCK_MONOTONIC
    int64_t value;    //  per kind
    char text [200];  //  per kind, NUL-terminated
} e2e_record_t;

typedef struct {
    pid_t pid;        //  0 when not running
    int report;       //  read end of its report pipe, -1 if closed
    int control;      //  write end of its control pipe, -1 if closed
    bool ready;       //  it sent READY
    bool done;        //  it sent DONE
    int64_t count;    //  its latest count
    int64_t t0, t1;   //  its latest times
    int64_t value;    //  its latest value
    char text [200];  //  the text of its READY record
} e2e_child_t;

//  What a child needs to know (copied into it by fork)
typedef struct {
    const e2e_scenario_t *scenario;
    size_t index;          //  which producer/worker/client
    const char *endpoint;  //  broker clients/workers or echo server
    int report;            //  write end of the report pipe
    int control;           //  read end of the control pipe
} e2e_role_t;

typedef void (e2e_body_fn) (e2e_role_t *role);

//  zjobd, run as it would be in production
typedef struct {
    pid_t pid;  //  0 when not running
    int out;    //  read end of its stdout, -1 if closed
    char clients [E2E_ENDPOINT_MAX];
    char workers [E2E_ENDPOINT_MAX];
    char log [E2E_PATH_MAX];       //  its stderr goes there
    char http [E2E_ENDPOINT_MAX];  //  HOST:PORT of its HTTP side, or ""
} e2e_broker_t;

//  A Prometheus server scraping one zjobd (bench/e2e/e2e_http.c)
typedef struct {
    pid_t pid;                //  0 when not running
    char listen [64];         //  HOST:PORT of its web API
    char dir [E2E_PATH_MAX];  //  its config, TSDB and log, under the run's directory
    int64_t started;          //  CLOCK_MONOTONIC ns it was started
} e2e_prom_t;


//  --------------------------------------------------------------------------
//  e2e_child.c: time, inputs, child processes, zjobd, CPU

//  CLOCK_MONOTONIC now, in ns
int64_t
e2e_now_ns (void);

//  Write a msgpack map {"t": submit_ns, "p": "xxx..."} of exactly
//  E2E_INPUT_SIZE bytes into buf. Returns its size.
size_t
e2e_make_inputs (uint8_t *buf, int64_t submit_ns);

//  The "t" of inputs made by e2e_make_inputs, or -1
int64_t
e2e_inputs_time (const uint8_t *data, size_t size);

//  In a child: send one record to the parent
void
e2e_report (e2e_role_t *role, e2e_rec_kind_t kind, int64_t count, int64_t t0, int64_t t1,
            int64_t value, const char *text);

//  In a child: report a failure and end (exit 1); never returns
void
e2e_fail (e2e_role_t *role, const char *what, const char *detail)
    __attribute__ ((noreturn));

//  In a child: wait for a command from the parent (a byte and a 64-bit
//  argument, into *argument_p if not NULL). Returns it, or 0 at EOF.
char
e2e_command (e2e_role_t *role, int64_t *argument_p);

//  Fork a child running body. The parent keeps the report pipe's read end
//  and the control pipe's write end. Returns 0, or -1 if it cannot fork.
int
e2e_spawn (e2e_child_t *child, const char *name, e2e_body_fn *body, e2e_role_t *role);

//  Run the program at path with argv (argv [0] its name) in a child that
//  dies with the parent, its stdout and stderr into the file log (made
//  anew). Returns the child's pid, or -1 with why filled (fork failed; an
//  exec that fails is told in log, and the child exits 127).
pid_t
e2e_exec (const char *path, char *const argv [], const char *log, char *why, size_t size);

//  Send a command byte (and an optional 64-bit argument) to a child
void
e2e_tell (e2e_child_t *child, char command, int64_t argument);

//  Stop count children: EOF on every control pipe, then wait for each
//  report pipe to close (it exited), all within E2E_STOP_MS, then SIGKILL
//  those left. Reaps them.
void
e2e_stop (e2e_child_t *children, size_t count);

//  Wait until one of count (at most E2E_CHILDREN_MAX) children has a
//  record, at most until deadline. Returns the index of the child whose record is in record, -1 at the
//  deadline, or -2 - index when that child's pipe closed (it exited).
int
e2e_next_record (e2e_child_t *children, size_t count, int64_t deadline, e2e_record_t *record);

//  Wait until every one of count children said READY, at most ready_ms.
//  Returns 0, or -1 with why filled.
int
e2e_await_ready (e2e_child_t *children, size_t count, const char *role, char *why, size_t size);

//  Start zjobd on store (a store spec), with CURVE and the keys of
//  e2e_curve_keys if curve, with --http 127.0.0.1:0 if http (its bound
//  HOST:PORT into broker->http), and wait for its ready line. Returns 0,
//  or -1 with why filled (the broker is then stopped).
int
e2e_broker_start (e2e_broker_t *broker, const char *store, bool curve, bool http,
                  const char *log, char *why, size_t size);

//  SIGTERM, then wait for its exit (its stdout closes) for
//  E2E_BROKER_STOP_MS, then SIGKILL. Reaps it.
void
e2e_broker_stop (e2e_broker_t *broker);

//  Print the last lines zjobd logged, after a failure
void
e2e_broker_log_tail (e2e_broker_t *broker);

//  CPU time used so far by process pid, all its threads (ns), or 0; of
//  which, in *sys_p if not NULL, in the kernel
int64_t
e2e_cpu_ns (pid_t pid, int64_t *sys_p);


//  --------------------------------------------------------------------------
//  e2e_curve.c: the keys of the CURVE scenarios, made once per run

//  The peers that hold a key: the producers (a client key of user
//  "bench"), the workers (a worker key for workflow "bench") and the
//  producers' STATS check after a run (an admin key: STATS is admin only)
typedef enum { E2E_KEY_PRODUCER = 0,
               E2E_KEY_WORKER,
               E2E_KEY_ADMIN } e2e_key_t;

//  In the parent, before any child exists: make the broker's certificate
//  and one key per peer under dir/curve (zjobd's --keys directory is
//  dir/curve/keys), as zjob keygen would. Touches no ZeroMQ context.
//  Returns 0, or -1 with why filled.
int
e2e_curve_keys (const char *dir, char *why, size_t size);

//  The broker's secret certificate and its keys directory (after
//  e2e_curve_keys), for zjobd's --curve-secret and --keys
const char *
e2e_curve_broker_secret (void);
const char *
e2e_curve_keys_dir (void);

//  The connect options of the peer key (after e2e_curve_keys); the paths
//  stay valid for the life of the process
zjob_connect_opts_t
e2e_curve_opts (e2e_key_t key);


//  --------------------------------------------------------------------------
//  e2e_http.c: a real Prometheus server scraping zjobd's /metrics

//  The Prometheus binary (ZJOB_BENCH_PROMETHEUS, else /usr/bin/prometheus)
const char *
e2e_prom_path (void);

//  Start Prometheus under dir/NAME (its config: one job "zjob" scraping
//  http://target/metrics every second; its TSDB; its log), its web API on
//  a free loopback port, and wait until it is ready and has scraped
//  target once (at most E2E_READY_MS). Returns 0, or -1 with why filled
//  (it is then stopped).
int
e2e_prom_start (e2e_prom_t *prom, const char *dir, const char *name, const char *target,
                char *why, size_t size);

//  Ask the server, through /api/v1/query, how many times it scraped
//  zjobd since it started, how many of those succeeded, how long they
//  took, and how many zjob_ series it holds, into result->prom_*
void
e2e_prom_check (e2e_prom_t *prom, e2e_result_t *result);

//  SIGTERM, wait for its exit (E2E_STOP_MS), then SIGKILL; reaps it and
//  removes its directory, after printing the first lines of its log if
//  show_log (after a failure)
void
e2e_prom_stop (e2e_prom_t *prom, bool show_log);

//  Whether scenario is the second of a --curve or --http compare pair
//  (the one with the option on)
bool
e2e_variant (const e2e_scenario_t *scenario);

//  The name of the compared pair's ratio: "CURVE / plain" or
//  "http / off"
const char *
e2e_variant_name (void);


//  --------------------------------------------------------------------------
//  The roles, the scenarios, the report

//  e2e_echo.c: Run the echo with scenario->jobs client processes on one server
void
e2e_run_echo (const e2e_scenario_t *scenario, e2e_result_t *result);

//  e2e_producer.c: the body of a producer process: submits its share of
//  the scenario's jobs as told by its mode
void
e2e_producer (e2e_role_t *role);

//  e2e_worker.c: the body of a worker process: the pollable engine,
//  completing each job at once
void
e2e_worker (e2e_role_t *role);

//  e2e_run.c: nftw callback that removes one entry (a store's directory)
int
e2e_remove_entry (const char *path, const struct stat *st, int flag, struct FTW *ftw);

//  e2e_run.c: run one job scenario (a fresh zjobd, its workers and
//  producers) with its file store under dir, into result
void
e2e_run_jobs (const e2e_scenario_t *scenario, const char *dir, e2e_result_t *result);

//  e2e_report.c: the 4-connection echo of this run, when it ran (judges
//  the strict target); set by main
extern const e2e_result_t *e2e_echo4;

//  n with thousands separators, into buf
const char *
e2e_thousands (double n, char *buf, size_t size);

//  The file system type of path, by name when it is a common one
const char *
e2e_fs_type (const char *path, char *buf, size_t size);

//  One line of the table: scenario, store, rate, ratio to echo, target.
//  A target is also judged scaled by this machine's echo rate over the
//  echo rate where it was set (E2E_ISSUE_ECHO_RATE): the ratio it asks for.
void
e2e_print_row (const e2e_scenario_t *scenario, const e2e_result_t *result,
               const e2e_result_t *echo);

//  Details of a job scenario, after it ran
void
e2e_print_details (const e2e_scenario_t *scenario, const e2e_result_t *result);

//  After --rounds N: each scenario's median rate (with its range), its
//  median ratio to the 1-connection echo of the same round, and for strict
//  its median share of the same round's echo4 ceiling; latency, the
//  median p50 and p99. Rounds where a scenario or its echo failed are left
//  out of its medians.
void
e2e_print_medians (const e2e_scenario_t *scenarios, size_t count, const e2e_result_t *rounds);

//  --curve or --http compare: a scenario's figures with the option against those without,
//  measured one after the other in the same round: the ratio of the
//  rates and the CPU per job of each, by process (latency: of p50 and p99)
void
e2e_print_curve_ratio (const e2e_scenario_t *scenario, const e2e_result_t *plain,
                       const e2e_result_t *curve);

//  --curve or --http compare after --rounds N: for each pair of scenarios (plain at
//  index i, CURVE at i + 1), the median of the rounds' ratios, with their
//  range, and the median CPU per job each side (latency: p50 and p99)
void
e2e_print_curve_medians (const e2e_scenario_t *scenarios, size_t count,
                         const e2e_result_t *rounds);

//  --store-compare: the E2E_COMPARED_STORES scenarios at group (one job
//  scenario on each store), their results at results [round * stride +
//  variant] for rounds rounds: the median jobs/s and broker CPU per job
//  of each, and the ratio of its median rate to the first's (the file
//  store's). One round: that round's figures.
void
e2e_print_store_ratios (const e2e_scenario_t *group, const e2e_result_t *results,
                        size_t rounds, size_t stride);

//  e2e_run.c: stop the PostgreSQL server the run started, if any
void
e2e_stores_stop (void);

#endif
