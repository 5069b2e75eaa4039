// Command pthv is the PTHV Reach command line: validate and upload roster exports, generate
// demo data, run the local stack, select cohorts and query reach. The rules every command
// follows (names, flags, formats, exit codes, tables) are in cli.go.
//
// Exit codes: 0 success, 1 the input has errors or the service refused, 2 usage errors
// (also when the service found the usage wrong) or an unreadable path.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
)

// exitError carries an exit code out of a command.
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

func usageErr(format string, args ...any) error {
	return &exitError{code: 2, msg: fmt.Sprintf(format, args...)}
}

type command struct {
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

var commands = map[string]command{}

func register(name, summary string, run func(ctx context.Context, args []string, stdout, stderr io.Writer) error) {
	commands[name] = command{summary, run}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run executes one command line and returns the process exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stderr)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	if args[0] == "--version" || args[0] == "-version" || args[0] == "version" {
		fmt.Fprintln(stdout, versionString())
		return 0
	}
	name := args[0]
	if len(args) > 1 && !strings.HasPrefix(args[1], "-") {
		if _, ok := commands[name+" "+args[1]]; ok {
			name, args = name+" "+args[1], args[1:]
		}
	}
	cmd, ok := commands[name]
	if !ok {
		if verbs := groupVerbs(name); len(verbs) > 0 {
			// A group named without a (known) verb: list its verbs.
			help := len(args) > 1 && (args[1] == "-h" || args[1] == "--help")
			if len(args) > 1 && !help {
				fmt.Fprintf(stderr, "pthv %s: unknown verb %q\n\n", name, args[1])
			}
			printGroup(stderr, name)
			if help {
				return 0
			}
			return 2
		}
		fmt.Fprintf(stderr, "pthv: unknown command %q\n\n", args[0])
		usage(stderr)
		return 2
	}
	err := cmd.run(ctx, args[1:], stdout, stderr)
	if err == nil {
		return 0
	}
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.msg != "" {
			fmt.Fprintf(stderr, "pthv %s: %s\n", name, ee.msg)
		}
		return ee.code
	}
	fmt.Fprintf(stderr, "pthv %s: %v\n", name, err)
	return 1
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: pthv <command> [flags]\n\ncommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-18s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "\nRun 'pthv <command> -h' for the arguments and flags of a command, 'pthv --version' for the version.")
}
