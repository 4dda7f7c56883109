/*  =========================================================================
    bench_crc - CRC-32C: zjob's own routine against ISA-L's crc32_iscsi

    The file store checksums every journal record with CRC-32C on append
    and on replay. A record is a job's whole image: about 210 bytes for a
    job just created with 100 bytes of inputs, 380 once it completed with
    as many bytes of outputs, up to ZJOB_DATA_MAX for big inputs. This
    measures, on 64-byte, 320-byte, 1 KiB and 64 KiB buffers, bytes per
    second and nanoseconds per call of:
      zjob      zjob_crc32c: the SSE4.2 crc32 instruction, one stream
      table     zjob_crc32c_portable: slicing-by-8, for CPUs without it
      isa-l     crc32_iscsi from libisal (Debian's libisal-dev), which picks
                a PCLMULQDQ / multi-stream version for the CPU at run time
                (only when CMake found libisal)
    Each figure is the median of --rounds rounds of about --bytes bytes
    each, the implementations taking turns within a round, and each ratio
    is the median of the ratios within a round: one slow moment of a shared
    machine moves all of a round, not one implementation's figure. The
    results of the three are checked equal first (crc32_iscsi takes and
    returns the CRC register without the pre- and post-inversion of the
    usual interface: zjob_crc32c (crc) = ~crc32_iscsi (~crc)).

    Usage: bench_crc [--rounds N] [--bytes N]
    This is a benchmark, not a test: it prints figures and exits 0 (1 if
    the implementations disagree).
    ========================================================================= */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "zjob_util.h"
#ifdef ZJOB_HAVE_ISAL
#include <isa-l/crc.h>
#endif

static int s_rounds = 7;           //  rounds per figure (median)
static size_t s_bytes = 64 << 20;  //  bytes checksummed per round

typedef uint32_t (s_crc_fn) (uint32_t crc, const void *data, size_t size);

#ifdef ZJOB_HAVE_ISAL
//  The usual interface over crc32_iscsi (int lengths, no inversions)
static uint32_t
s_crc_isal (uint32_t crc, const void *data, size_t size)
{
    return ~crc32_iscsi ((unsigned char *) data, (int) size, ~crc);
}
#endif

static double
s_now (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int
s_compare_double (const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;
    return (x > y) - (x < y);
}

//  Seconds for one call of fn on size bytes, over about s_bytes bytes
static double
s_time (s_crc_fn *fn, const uint8_t *buffer, size_t size)
{
    size_t calls = s_bytes / size;
    double start = s_now ();
    uint32_t crc = 0;
    for (size_t i = 0; i < calls; i++)
        crc = fn (crc, buffer, size);  //  Chained: no call is dead code
    double seconds = (s_now () - start) / calls;
    static volatile uint32_t sink;
    sink ^= crc;
    return seconds;
}

static double
s_median (double *values, int count)
{
    qsort (values, count, sizeof (double), s_compare_double);
    return values [count / 2];
}

int
main (int argc, char *argv [])
{
    for (int i = 1; i < argc; i++) {
        if (streq (argv [i], "--rounds") && i + 1 < argc)
            s_rounds = atoi (argv [++i]);
        else if (streq (argv [i], "--bytes") && i + 1 < argc)
            s_bytes = (size_t) atoll (argv [++i]);
        else {
            fprintf (stderr, "usage: bench_crc [--rounds N] [--bytes N]\n");
            return 1;
        }
    }
    if (s_rounds < 1 || s_rounds > 64 || s_bytes < 65536) {
        fprintf (stderr, "bench_crc: --rounds 1..64, --bytes 65536 or more\n");
        return 1;
    }
    struct {
        const char *name;
        s_crc_fn *fn;
    } impls [] = {
        { "zjob", zjob_crc32c },
        { "table", zjob_crc32c_portable },
#ifdef ZJOB_HAVE_ISAL
        { "isa-l", s_crc_isal },
#endif
    };
    size_t impl_count = sizeof (impls) / sizeof (impls [0]);
    const size_t sizes [] = { 64, 320, 1024, 65536 };

    //  Random bytes, starting at an odd address as records in a read
    //  buffer may
    uint8_t *block = malloc (65536 + 1);
    if (!block)
        return 1;
    uint64_t state = 0x9E3779B97F4A7C15ULL;
    for (size_t i = 0; i < 65536 + 1; i++) {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        block [i] = (uint8_t) state;
    }
    uint8_t *buffer = block + 1;
    for (size_t i = 1; i < impl_count; i++)
        for (size_t size = 0; size <= 65536; size += size < 300 ? 1 : 4093)
            if (impls [i].fn (0x12345678, buffer, size) != zjob_crc32c (0x12345678, buffer, size)) {
                fprintf (stderr, "bench_crc: %s disagrees with zjob at %zu bytes\n",
                         impls [i].name, size);
                free (block);
                return 1;
            }
    printf ("CRC-32C, median of %d rounds of %zu MiB each, the implementations in turn\n"
            "within a round; x zjob: the median of each round's ratio. All agree.\n",
            s_rounds, s_bytes >> 20);
    printf ("%-8s %8s %10s %8s %8s\n", "", "bytes", "ns/call", "GB/s", "x zjob");
    for (size_t s = 0; s < sizeof (sizes) / sizeof (sizes [0]); s++) {
        double seconds [3][64], ratios [3][64];
        for (int round = 0; round < s_rounds; round++)
            for (size_t i = 0; i < impl_count; i++) {
                seconds [i][round] = s_time (impls [i].fn, buffer, sizes [s]);
                ratios [i][round] = seconds [0][round] / seconds [i][round];
            }
        for (size_t i = 0; i < impl_count; i++) {
            double median = s_median (seconds [i], s_rounds);
            printf ("%-8s %8zu %10.1f %8.2f %8.2f\n", impls [i].name, sizes [s],
                    median * 1e9, sizes [s] / median / 1e9, s_median (ratios [i], s_rounds));
        }
    }
    free (block);
    return 0;
}
