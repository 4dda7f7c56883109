/*  =========================================================================
    zjob - the admin and client command line of the zjob broker

        zjob [GLOBAL OPTIONS] COMMAND [ARGS] [OPTIONS]

    A thin main over the CLI's library (client/cli/): it reads the options
    written before the command's name, finds the command in the table
    (cli_help.c) and runs it. Each command parses the rest itself, so the
    common options (--broker, --json, --timeout...) mean the same before
    and after the command's name. The library's banners explain the
    design: cli_core.h (context, exit codes, timeouts), cli_args.h (values),
    cli_output.h (formatting), cli_commands.h (the commands).
    ========================================================================= */

#include <stdio.h>
#include "cli_core.h"
#include "cli_commands.h"

int
main (int argc, char *argv [])
{
    zjob_cli_t cli;
    zjob_cli_init (&cli);

    //  Options before the command; '+' stops at the command's name
    static const struct option options [] = { ZJOB_CLI_COMMON_OPTIONS };
    zjob_cli_getopt_reset ();
    int opt, rc;
    while ((opt = zjob_cli_getopt (&cli, argc, argv, "+", options, &rc)) != -1) {
        if (opt == ZJOB_OPT_HELP) {
            zjob_cli_print_help (stdout);
            return ZJOB_EXIT_OK;
        }
        return opt == ZJOB_OPT_INVALID && rc > 0 ? rc : ZJOB_EXIT_USAGE;
    }
    if (optind >= argc) {
        fprintf (stderr, "usage: zjob [OPTIONS] COMMAND [ARGS]; 'zjob help' lists the "
                         "commands\n");
        return ZJOB_EXIT_USAGE;
    }
    const zjob_cli_command_t *command = zjob_cli_command_find (argv [optind]);
    if (!command)
        return zjob_cli_usage (&cli, "unknown command '%s'", argv [optind]);

    //  CZMQ's signal handler turns Ctrl-C into zsys_interrupted, which
    //  wait and watch check; its log goes to stderr, never into output
    zsys_init ();
    zsys_set_logstream (stderr);
    cli.command = command->name;
    rc = command->run (&cli, argc - optind, argv + optind);
    zjob_cli_fini (&cli);
    return rc;
}
