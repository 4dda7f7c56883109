/*  =========================================================================
    zjob_log - the programs' log lines: levels, ISO 8601 times, text or JSON

    See zjob_log.h. A line is formatted into a buffer on the stack (a
    longer one into the heap) and written with one fputs and a flush, so
    the stream's own lock keeps the lines of several threads whole.
    ========================================================================= */

#include "zjob_log.h"
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static const char *s_level_names [] = { "error", "warning", "info", "debug" };

static FILE *s_stream = NULL;  //  NULL: stderr
static zjob_log_format_t s_format = ZJOB_LOG_TEXT;
static char s_program [64] = "zjob";

void
zjob_log_set_stream (FILE *stream)
{
    s_stream = stream;
}

void
zjob_log_set_format (zjob_log_format_t format)
{
    s_format = format;
}

bool
zjob_log_parse_format (const char *name, zjob_log_format_t *format)
{
    if (name && strcmp (name, "text") == 0)
        *format = ZJOB_LOG_TEXT;
    else if (name && strcmp (name, "json") == 0)
        *format = ZJOB_LOG_JSON;
    else
        return false;
    return true;
}

void
zjob_log_set_program (const char *program)
{
    snprintf (s_program, sizeof s_program, "%s", program ? program : "zjob");
}

const char *
zjob_log_level_name (int level)
{
    if (level < ZJOB_LOG_ERROR || level > ZJOB_LOG_DEBUG)
        return "unknown";
    return s_level_names [level];
}

int
zjob_log_level_parse (const char *name)
{
    for (int level = ZJOB_LOG_ERROR; name && level <= ZJOB_LOG_DEBUG; level++)
        if (strcmp (name, s_level_names [level]) == 0)
            return level;
    return -1;
}

void
zjob_log_time (char *buffer, size_t size)
{
    struct timeval tv;
    gettimeofday (&tv, NULL);
    struct tm tm;
    time_t secs = tv.tv_sec;
    localtime_r (&secs, &tm);
    char date [32], zone [8];
    strftime (date, sizeof date, "%Y-%m-%dT%H:%M:%S", &tm);
    //  %z gives +0100; ISO 8601's extended form wants +01:00
    strftime (zone, sizeof zone, "%z", &tm);
    if (strlen (zone) == 5)
        snprintf (buffer, size, "%s.%03d%.3s:%s", date, (int) (tv.tv_usec / 1000), zone,
                  zone + 3);
    else
        snprintf (buffer, size, "%s.%03dZ", date, (int) (tv.tv_usec / 1000));
}

//  The JSON line of message, or NULL if out of memory
static char *
s_json_line (const char *time, int level, const char *message)
{
    json_t *object = json_object ();
    if (!object)
        return NULL;
    json_object_set_new (object, "time", json_string (time));
    json_object_set_new (object, "level", json_string (zjob_log_level_name (level)));
    json_object_set_new (object, "program", json_string (s_program));
    json_object_set_new (object, "pid", json_integer ((json_int_t) getpid ()));
    //  A message that is not valid UTF-8 (a peer's bytes quoted in it)
    //  is still logged, its bytes as they are shown in C
    json_t *text = json_string (message);
    if (!text) {
        size_t size = strlen (message);
        char *copy = (char *) malloc (size + 1);
        if (copy) {
            for (size_t index = 0; index <= size; index++)
                copy [index] = (message [index] & 0x80) ? '?' : message [index];
            text = json_string (copy);
            free (copy);
        }
    }
    json_object_set_new (object, "msg", text ? text : json_string (""));
    char *line = json_dumps (object, JSON_COMPACT);
    json_decref (object);
    return line;
}

void
zjob_log_v (int level, const char *format, va_list args)
{
    char stack [1024];
    char *message = stack;
    va_list copy;
    va_copy (copy, args);
    int size = vsnprintf (stack, sizeof stack, format, args);
    if (size >= (int) sizeof stack && (message = (char *) malloc ((size_t) size + 1)))
        vsnprintf (message, (size_t) size + 1, format, copy);
    va_end (copy);
    if (!message)
        message = stack;  //  Out of memory: the message cut short
    //  A line is one line: a newline inside the message would forge another
    for (char *scan = message; *scan; scan++)
        if (*scan == '\n' || *scan == '\r')
            *scan = ' ';

    char time [ZJOB_LOG_TIME_MAX];
    zjob_log_time (time, sizeof time);
    FILE *stream = s_stream ? s_stream : stderr;
    if (s_format == ZJOB_LOG_JSON) {
        char *line = s_json_line (time, level, message);
        if (line) {
            size_t length = strlen (line);
            char *grown = (char *) realloc (line, length + 2);  //  Room for the newline
            if (grown) {
                line = grown;
                memcpy (line + length, "\n", 2);
                fputs (line, stream);
            }
            free (line);
        }
    }
    else {
        char head [ZJOB_LOG_TIME_MAX + 100];
        snprintf (head, sizeof head, "%s %s %s[%d]: ", time, zjob_log_level_name (level),
                  s_program, (int) getpid ());
        size_t total = strlen (head) + strlen (message) + 2;
        char line_stack [1200];
        char *line = total <= sizeof line_stack ? line_stack : (char *) malloc (total);
        if (line) {
            size_t head_size = strlen (head), message_size = strlen (message);
            memcpy (line, head, head_size);
            memcpy (line + head_size, message, message_size);
            memcpy (line + head_size + message_size, "\n", 2);
            fputs (line, stream);
            if (line != line_stack)
                free (line);
        }
    }
    fflush (stream);
    if (message != stack)
        free (message);
}

void
zjob_log (int level, const char *format, ...)
{
    va_list args;
    va_start (args, format);
    zjob_log_v (level, format, args);
    va_end (args);
}
