/*  =========================================================================
    bench_flood - the broker's memory under a flood of SUBMITs

    Starts zjobd (this build's, as a child process) with --max-queued and
    no worker, and sends it SUBMITs pipelined in a window, far more than
    the limit: the first ones fill the broker to its limit, every later
    one is answered 429. It prints the broker's resident set (VmRSS, from
    /proc/PID/status) before, at each tenth of the flood, and after, with
    the jobs taken and refused and the rate of answers. Under the limit
    the figure stops growing once the broker is full; with --max-queued 0
    (no limit) it grows with every job, which is what the limit prevents.

        bench_flood [--submits N] [--max-queued N] [--max-queued-bytes SIZE]
                    [--window N] [--inputs BYTES] [--store SPEC]

    It prints figures; it is not a test (tests/test_zjob_limits_e2e.c is).
    ========================================================================= */

#include <czmq.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "zjob_proto.h"

#define S_ANSWER_MS 30000  //  msecs the broker has to answer, or the bench gives up

static size_t s_submits = 1000000;  //  SUBMITs sent in all
static const char *s_max_queued = "100000";
static const char *s_max_queued_bytes = "1G";
static size_t s_window = 1000;  //  SUBMITs in flight
static size_t s_inputs = 100;   //  bytes of each job's inputs
static const char *s_store = "memory:";

//  zjobd's resident set in KB, or -1
static long
s_rss_kb (pid_t pid)
{
    char path [64];
    snprintf (path, sizeof (path), "/proc/%d/status", (int) pid);
    FILE *file = fopen (path, "r");
    char line [256];
    long rss = -1;
    while (file && fgets (line, sizeof (line), file))
        if (sscanf (line, "VmRSS: %ld kB", &rss) == 1)
            break;
    if (file)
        fclose (file);
    return rss;
}

//  Start zjobd with its stdout on a pipe; its clients endpoint into
//  clients (256 bytes). The pid, or -1
static pid_t
s_broker_start (char *clients)
{
    int out [2];
    if (pipe (out))
        return -1;
    pid_t pid = fork ();
    if (pid == 0) {
        dup2 (out [1], STDOUT_FILENO);
        close (out [0]);
        close (out [1]);
        execl (ZJOB_BIN_DIR "/zjobd", "zjobd", "--clients", "tcp://127.0.0.1:*", "--workers",
               "tcp://127.0.0.1:*", "--events", "tcp://127.0.0.1:*", "--store", s_store,
               "--max-queued", s_max_queued, "--max-queued-bytes", s_max_queued_bytes, "--log-level", "error", (char *) NULL);
        _exit (127);
    }
    close (out [1]);
    FILE *ready = fdopen (out [0], "r");
    char line [1024];
    int parsed = ready && fgets (line, sizeof (line), ready)
        ? sscanf (line, "zjobd ready clients=%255s", clients)
        : 0;
    if (ready)
        fclose (ready);
    if (parsed != 1) {
        fprintf (stderr, "bench_flood: zjobd did not start (%s)\n", ZJOB_BIN_DIR "/zjobd");
        kill (pid, SIGKILL);
        waitpid (pid, NULL, 0);
        return -1;
    }
    return pid;
}

//  Send one SUBMIT of one job with inputs {"d": bin} of s_inputs bytes
static int
s_send_submit (zsock_t *sock, zjob_msg_builder_t *builder, uint64_t request_id,
               const uint8_t *inputs)
{
    zjob_spec_t spec;
    memset (&spec, 0, sizeof (spec));
    spec.workflow_id = "flood";
    spec.inputs = inputs;
    spec.inputs_size = s_inputs;
    zjob_error_t err;
    zjob_msg_begin (builder, ZJOB_CMD_SUBMIT, request_id);
    zjob_msg_add_specs (builder, "jobs", &spec, 1);
    zframe_t *frame = zjob_msg_end (builder, &err);
    return frame ? zframe_send (&frame, sock, 0) : -1;
}

//  Parse the options; 0, or 1 for a bad one
static int
s_options (int argc, char *argv [])
{
    for (int arg = 1; arg + 1 < argc; arg += 2) {
        const char *name = argv [arg], *value = argv [arg + 1];
        if (streq (name, "--submits"))
            s_submits = (size_t) atoll (value);
        else if (streq (name, "--max-queued"))
            s_max_queued = value;
        else if (streq (name, "--max-queued-bytes"))
            s_max_queued_bytes = value;
        else if (streq (name, "--window"))
            s_window = (size_t) atoll (value);
        else if (streq (name, "--inputs"))
            s_inputs = (size_t) atoll (value);
        else if (streq (name, "--store"))
            s_store = value;
        else
            return 1;
    }
    return argc % 2 == 0 || s_window == 0 || s_inputs < 6 || s_inputs > 65536 ? 1 : 0;
}

//  Read one answer within S_ANSWER_MS: 1 taken (OK), 0 refused (429), -1
//  anything else or none
static int
s_recv_answer (zsock_t *sock)
{
    zsock_set_rcvtimeo (sock, S_ANSWER_MS);
    zframe_t *frame = zframe_recv (sock);
    if (!frame)
        return -1;
    zjob_error_t err;
    zjob_msg_t *msg = zjob_msg_decode (zframe_data (frame), zframe_size (frame),
                                       ZJOB_ROUTE_BROKER_CLIENT, &err);
    int rc = !msg                                         ? -1
        : zjob_msg_command (msg) == ZJOB_CMD_OK           ? 1
        : zjob_msg_uint (msg, "code", 0) == ZJOB_TOO_MANY ? 0
                                                          : -1;
    if (rc < 0)
        fprintf (stderr, "bench_flood: unexpected answer: %s\n",
                 msg ? zjob_msg_str (msg, "message") : err.text);
    zjob_msg_destroy (&msg);
    zframe_destroy (&frame);
    return rc;
}

//  The flood: s_submits SUBMITs, s_window in flight, RSS printed at each
//  tenth. 0, or -1 if the broker failed to answer
static int
s_flood (zsock_t *sock, pid_t broker)
{
    uint8_t *inputs = (uint8_t *) malloc (s_inputs);
    zjob_msg_builder_t *builder = zjob_msg_builder_new ();
    if (!inputs || !builder)
        return -1;
    inputs [0] = 0x81;  //  {"d": bin 16}
    inputs [1] = 0xa1;
    inputs [2] = 'd';
    inputs [3] = 0xc5;
    inputs [4] = (uint8_t) ((s_inputs - 6) >> 8);
    inputs [5] = (uint8_t) ((s_inputs - 6) & 0xff);
    memset (inputs + 6, 'x', s_inputs - 6);
    size_t sent = 0, answered = 0, taken = 0, refused = 0, tenth = s_submits / 10;
    int64_t start = zclock_mono ();
    int rc = 0;
    while (answered < s_submits && rc == 0) {
        while (sent < s_submits && sent - answered < s_window)
            if (s_send_submit (sock, builder, ++sent, inputs))
                rc = -1;
        int answer = rc ? -1 : s_recv_answer (sock);
        if (answer < 0)
            rc = -1;
        taken += answer == 1;
        refused += answer == 0;
        answered++;
        if (tenth && answered % tenth == 0)
            printf ("  %9zu answered: %8zu taken, %9zu refused (429); zjobd VmRSS %7ld kB\n",
                    answered, taken, refused, s_rss_kb (broker));
    }
    double secs = (double) (zclock_mono () - start) / 1000.0;
    printf ("bench_flood: %zu SUBMITs in %.1f s (%.0f answers/s): %zu taken, %zu refused\n",
            answered, secs, secs > 0 ? (double) answered / secs : 0.0, taken, refused);
    zjob_msg_builder_destroy (&builder);
    free (inputs);
    return rc;
}

int
main (int argc, char *argv [])
{
    if (s_options (argc, argv)) {
        fprintf (stderr, "usage: bench_flood [--submits N] [--max-queued N] [--max-queued-bytes SIZE] [--window N] "
                         "[--inputs BYTES (6..65536)] [--store SPEC]\n");
        return 1;
    }
    zsys_init ();
    char clients [256];
    pid_t broker = s_broker_start (clients);
    if (broker < 0)
        return 1;
    zsock_t *sock = zsock_new (ZMQ_DEALER);
    if (sock) {
        zjob_proto_socket_setup (sock);
        zsock_set_linger (sock, 0);
    }
    if (!sock || zsock_connect (sock, "%s", clients)) {
        fprintf (stderr, "bench_flood: cannot connect to %s\n", clients);
        kill (broker, SIGKILL);
        waitpid (broker, NULL, 0);
        return 1;
    }
    printf ("bench_flood: zjobd --max-queued %s --max-queued-bytes %s --store %s, %zu SUBMITs "
            "of one job (%zu bytes of inputs), %zu in flight\n",
            s_max_queued, s_max_queued_bytes, s_store, s_submits, s_inputs, s_window);
    printf ("  before: zjobd VmRSS %ld kB\n", s_rss_kb (broker));
    int rc = s_flood (sock, broker);
    printf ("  after:  zjobd VmRSS %ld kB\n", s_rss_kb (broker));
    zsock_destroy (&sock);
    kill (broker, SIGTERM);
    waitpid (broker, NULL, 0);
    return rc ? 1 : 0;
}
