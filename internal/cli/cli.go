// Package cli holds what both binaries share on the command line: global
// flags accepted before or after the subcommand, interspersed flags and
// arguments, zerolog set-up, and the exit-code convention (0 ok, 1 failure,
// 2 bad usage).
package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/rs/zerolog"
)

// Exit codes.
const (
	ExitOK      = 0
	ExitFailure = 1
	ExitUsage   = 2
)

// UsageError is bad usage: exit 2.
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }

// Usagef builds a UsageError.
func Usagef(format string, args ...any) error { return &UsageError{Msg: fmt.Sprintf(format, args...)} }

// Globals are the flags every command and subcommand takes.
type Globals struct {
	Config    string
	LogFormat string
	LogLevel  string
}

// Register adds the global flags to fs.
func (g *Globals) Register(fs *flag.FlagSet) {
	fs.StringVar(&g.Config, "config", os.Getenv("OCR_CONFIG"), "configuration `file` (or OCR_CONFIG)")
	fs.StringVar(&g.LogFormat, "log-format", "json", "log format: json or console")
	def := os.Getenv("LOG_LEVEL")
	if def == "" {
		def = "info"
	}
	fs.StringVar(&g.LogLevel, "log-level", def, "log level: debug, info, warn, error (or LOG_LEVEL)")
}

// Parse parses args with fs, allowing flags after positional arguments
// (`enqueue s3://b/k --type receipt`), as kubectl and the AWS CLI do. "--"
// ends flag parsing.
func Parse(fs *flag.FlagSet, args []string) ([]string, error) {
	fs.SetOutput(io.Discard)
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, &UsageError{Msg: err.Error()}
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// Logger builds the zerolog logger the flags ask for.
func Logger(w io.Writer, format, level string) (zerolog.Logger, error) {
	lvl, err := zerolog.ParseLevel(strings.ToLower(level))
	if err != nil || level == "" {
		return zerolog.Nop(), Usagef("--log-level %q: want debug, info, warn or error", level)
	}
	zerolog.TimeFieldFormat = time.RFC3339Nano
	switch format {
	case "json":
	case "console":
		w = zerolog.ConsoleWriter{Out: w, TimeFormat: time.RFC3339}
	default:
		return zerolog.Nop(), Usagef("--log-format %q: want json or console", format)
	}
	return zerolog.New(w).Level(lvl).With().Timestamp().Logger(), nil
}

// PrintUsage writes a command's usage text and its flags.
func PrintUsage(w io.Writer, fs *flag.FlagSet, usage string) {
	fmt.Fprintln(w, strings.TrimSpace(usage))
	fmt.Fprintln(w, "\nFlags:")
	fs.SetOutput(w)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
}

// Exit maps an error to the exit code convention, printing it.
func Exit(w io.Writer, err error) int {
	if err == nil {
		return ExitOK
	}
	if errors.Is(err, flag.ErrHelp) {
		return ExitOK
	}
	fmt.Fprintln(w, "error:", err)
	var u *UsageError
	if errors.As(err, &u) {
		return ExitUsage
	}
	return ExitFailure
}

// ParseFlagsOnly parses a command that takes no positional arguments. help
// is true when --help was asked for; the usage is then already printed.
func ParseFlagsOnly(fs *flag.FlagSet, args []string, stdout io.Writer, usage string) (help bool, err error) {
	pos, err := Parse(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		PrintUsage(stdout, fs, usage)
		return true, nil
	}
	if err == nil && len(pos) > 0 {
		err = Usagef("unexpected argument %q", pos[0])
	}
	return false, err
}

// Fail prints err, points bad usage at --help, and returns the exit code.
func Fail(stderr io.Writer, command string, err error) int {
	code := Exit(stderr, err)
	if code == ExitUsage {
		fmt.Fprintf(stderr, "run '%s --help' for usage\n", command)
	}
	return code
}
