/*  =========================================================================
    helper_zjob_delay - a TCP proxy that delays every byte, for tests

    A worker far from the broker, on one machine: the proxy listens on an
    ephemeral port of 127.0.0.1, connects each client it accepts to the
    target, and holds each chunk it reads, either way, for delay_ms before
    writing it on. A thread of its own runs it with poll(); order is kept
    per direction. Up to 16 connections at once; a side that closes
    closes its pair.
    ========================================================================= */

#ifndef HELPER_ZJOB_DELAY_H_INCLUDED
#define HELPER_ZJOB_DELAY_H_INCLUDED

typedef struct _zjob_test_delay_t zjob_test_delay_t;

//  Start a proxy to target_port on 127.0.0.1 delaying delay_ms each way;
//  its endpoint ("tcp://127.0.0.1:PORT") goes to endpoint (64 bytes).
//  NULL if it cannot start.
zjob_test_delay_t *
zjob_test_delay_new (int target_port, int delay_ms, char *endpoint);

//  Stop the proxy and close its connections. Accepts NULL.
void
zjob_test_delay_destroy (zjob_test_delay_t **self_p);

#endif
