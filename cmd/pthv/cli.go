package main

// The pthv command line is one family. Every command follows these rules, and the helpers in
// this file make them the easy way; a new command should need nothing else.
//
//   - Names: `pthv WORD` or `pthv GROUP VERB`, registered with register in an init func.
//     `pthv GROUP` alone (or with -h) lists the group's verbs.
//   - Flags: newFlags("GROUP VERB ARGS", stderr) names the command and its positional
//     arguments ("cohort show COHORT", "upload PATH"): -h prints "usage: pthv cohort show
//     COHORT [flags]", the summary and every flag as --name VALUE. Parse with parseFlags
//     (flags may come before or after positional arguments).
//   - The same flag means the same thing everywhere: --district ID, --year 2026-2027,
//     --format text|json (|csv where a table can be CSV: text is for people, json follows
//     the schemas), --out FILE, --force to overwrite or override, --seed N, --quiet.
//   - Values are checked when parsed, never defaulted: floatFlag, intFlag and choiceFlag refuse
//     a value out of range or outside the vocabulary with exit 2 (--coverage 0 is an error,
//     not the default coverage).
//   - Exit codes: 0 success; 1 the input has errors or the service refused (refusal turns a
//     rule error into "refused (code): …"); 2 usage errors, also when the service found the
//     usage wrong (usageErr; an API 400, a cohort bad_request).
//   - Output: tables through newTable (upper-case headers, times as stamp formats them, UTC);
//     counts through plural ("1 error", "2 errors"); personal data only where asked, to a
//     file that is never overwritten without --force, written whole once complete, or to stdout
//     for "-" (writeWhole, output.go).

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"runtime/debug"
	"slices"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/pthv/reach/internal/importer"
	"github.com/pthv/reach/internal/pthv"
)

// version is the release, set at build time with -ldflags "-X main.version=v1.2.3"; without
// it, pthv --version prints the module version and VCS revision the binary was built from.
var version = ""

func versionString() string {
	v := version
	bi, ok := debug.ReadBuildInfo()
	if v == "" && ok {
		v = bi.Main.Version
	}
	if v == "" {
		v = "(devel)"
	}
	if ok {
		var rev, dirty string
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				if s.Value == "true" {
					dirty = "+dirty"
				}
			}
		}
		if rev != "" {
			v += " (" + rev[:min(12, len(rev))] + dirty + ")"
		}
	}
	return "pthv " + v
}

// commandOf returns the registered command that a flag set's name ("cohort show COHORT")
// starts with: the longest registered prefix.
func commandOf(nameAndArgs string) (name, args string) {
	words := strings.Fields(nameAndArgs)
	for n := len(words); n > 0; n-- {
		if c := strings.Join(words[:n], " "); commands[c].run != nil {
			return c, strings.Join(words[n:], " ")
		}
	}
	return nameAndArgs, ""
}

// newFlags returns the flag set of a command: nameAndArgs is the command's name and its
// positional arguments' synopsis ("cohort show COHORT"). It reports errors instead of
// exiting, and -h prints the command's usage.
func newFlags(nameAndArgs string, stderr io.Writer) *flag.FlagSet {
	name, args := commandOf(nameAndArgs)
	fs := flag.NewFlagSet("pthv "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { printUsage(stderr, fs, name, args) }
	return fs
}

// printUsage prints "usage: pthv NAME ARGS [flags]", the summary and the flags.
func printUsage(w io.Writer, fs *flag.FlagSet, name, args string) {
	line := "usage: pthv " + name
	if args != "" {
		line += " " + args
	}
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	if n > 0 {
		line += " [flags]"
	}
	fmt.Fprintln(w, line)
	if s := commands[name].summary; s != "" {
		fmt.Fprintf(w, "\n%s\n", s)
	}
	if verbs := groupVerbs(name); len(verbs) > 0 {
		fmt.Fprintf(w, "\nalso: %s (run each with -h)\n", strings.Join(verbs, ", "))
	}
	if n == 0 {
		return
	}
	fmt.Fprintln(w, "\nflags:")
	fs.VisitAll(func(f *flag.Flag) {
		kind, usage := flag.UnquoteUsage(f)
		head := "  --" + f.Name
		if kind != "" {
			head += " " + kind
		}
		def := ""
		if f.DefValue != "" && f.DefValue != "0" && f.DefValue != "false" {
			def = " (default " + f.DefValue + ")"
		}
		fmt.Fprintf(w, "%s\n      %s%s\n", head, usage, def)
	})
}

// printGroup lists the verbs of a group command ("cohort": select, refresh, …).
func printGroup(w io.Writer, group string) {
	fmt.Fprintf(w, "usage: pthv %s <verb> [flags]\n\nverbs:\n", group)
	for _, n := range groupVerbs(group) {
		fmt.Fprintf(w, "  %-18s %s\n", strings.TrimPrefix(n, group+" "), commands[n].summary)
	}
	fmt.Fprintf(w, "\nRun 'pthv %s <verb> -h' for the arguments and flags of a verb.\n", group)
}

// groupVerbs returns the registered commands "group …", sorted.
func groupVerbs(group string) []string {
	var out []string
	for n := range commands {
		if strings.HasPrefix(n, group+" ") {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

// parseFlags parses flags that may come before or after positional arguments.
func parseFlags(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, &exitError{code: 2}
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		if args[0] == "--" { // everything after -- is positional
			return append(pos, args[1:]...), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// floatValue is a float flag that refuses values outside its range when parsed.
type floatValue struct {
	p              *float64
	lo, hi         float64
	loOpen, hiOpen bool
}

func (v *floatValue) String() string {
	if v.p == nil {
		return ""
	}
	return strconv.FormatFloat(*v.p, 'g', -1, 64)
}

func (v *floatValue) Set(s string) error {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return errors.New("not a number")
	}
	if f < v.lo || f > v.hi || (v.loOpen && f == v.lo) || (v.hiOpen && f == v.hi) {
		return fmt.Errorf("must be in %s", v.interval())
	}
	*v.p = f
	return nil
}

func (v *floatValue) interval() string {
	l, r := "[", "]"
	if v.loOpen {
		l = "("
	}
	if v.hiOpen {
		r = ")"
	}
	return fmt.Sprintf("%s%g,%g%s", l, v.lo, v.hi, r)
}

// floatFlag defines a float flag whose value must lie between lo and hi (excluded when
// loOpen / hiOpen); the usage text says so.
func floatFlag(fs *flag.FlagSet, name string, def, lo, hi float64, loOpen, hiOpen bool, usage string) *float64 {
	p := new(float64)
	*p = def
	v := &floatValue{p: p, lo: lo, hi: hi, loOpen: loOpen, hiOpen: hiOpen}
	fs.Var(v, name, usage+", in "+v.interval())
	return p
}

// intValue is an int flag that refuses values outside [lo, hi] when parsed.
type intValue struct {
	p      *int
	lo, hi int
}

func (v *intValue) String() string {
	if v.p == nil {
		return ""
	}
	return strconv.Itoa(*v.p)
}

func (v *intValue) Set(s string) error {
	n, err := strconv.Atoi(s)
	if err != nil {
		return errors.New("not a whole number")
	}
	if n < v.lo || n > v.hi {
		if v.hi == math.MaxInt {
			return fmt.Errorf("must be %d or more", v.lo)
		}
		return fmt.Errorf("must be from %d to %d", v.lo, v.hi)
	}
	*v.p = n
	return nil
}

// intFlag defines an int flag whose value must lie in [lo, hi] (hi math.MaxInt: no bound).
func intFlag(fs *flag.FlagSet, name string, def, lo, hi int, usage string) *int {
	p := new(int)
	*p = def
	fs.Var(&intValue{p: p, lo: lo, hi: hi}, name, usage)
	return p
}

// choiceValue is a string flag that refuses values outside its vocabulary when parsed.
type choiceValue struct {
	p       *string
	choices []string
	aliases map[string]string
}

func (v *choiceValue) String() string {
	if v.p == nil {
		return ""
	}
	return *v.p
}

func (v *choiceValue) Set(s string) error {
	if a, ok := v.aliases[s]; ok {
		s = a
	}
	if !slices.Contains(v.choices, s) {
		return fmt.Errorf("must be %s", orList(v.choices))
	}
	*v.p = s
	return nil
}

// choiceFlag defines a string flag that must be one of choices (def is the default; "" for
// none, when the flag is optional).
func choiceFlag(fs *flag.FlagSet, name, def string, choices []string, usage string) *string {
	p := new(string)
	*p = def
	fs.Var(&choiceValue{p: p, choices: choices}, name, usage+": "+strings.Join(choices, ", "))
	return p
}

// formatFlag defines --format: text (for people, the default) or json, plus csv when the
// command's output is a table. "table" is read as text (the reach command's older name).
func formatFlag(fs *flag.FlagSet, withCSV bool) *string {
	choices := []string{"text", "json"}
	if withCSV {
		choices = append(choices, "csv")
	}
	p := new(string)
	*p = "text"
	fs.Var(&choiceValue{p: p, choices: choices, aliases: map[string]string{"table": "text"}}, "format",
		"output `FORMAT`: "+strings.Join(choices, ", ")+" (json follows the schemas in schemas/)")
	return p
}

func orList(s []string) string {
	if len(s) == 1 {
		return s[0]
	}
	return strings.Join(s[:len(s)-1], ", ") + " or " + s[len(s)-1]
}

// plural returns "1 error", "2 errors" (noun is the singular; nouns ending in y or s are
// pluralised as such).
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	switch {
	case strings.HasSuffix(noun, "y") && !strings.HasSuffix(noun, "ey"):
		noun = noun[:len(noun)-1] + "ies"
	case strings.HasSuffix(noun, "s"), strings.HasSuffix(noun, "sh"), strings.HasSuffix(noun, "ch"):
		noun += "es"
	default:
		noun += "s"
	}
	return strconv.Itoa(n) + " " + noun
}

// stamp formats a time in tables and summaries: UTC, to the second, "2026-09-01 14:03:07Z";
// "-" for the zero time.
func stamp(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04:05Z")
}

// table is a tab-aligned table with upper-case headers.
type table struct{ tw *tabwriter.Writer }

// newTable starts a table with the given column headers (printed upper-case).
func newTable(w io.Writer, headers ...string) *table {
	t := &table{tw: tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)}
	for i, h := range headers {
		headers[i] = strings.ToUpper(h)
	}
	fmt.Fprintln(t.tw, strings.Join(headers, "\t"))
	return t
}

// row adds a row; values print with %v.
func (t *table) row(vals ...any) {
	for i, v := range vals {
		if i > 0 {
			fmt.Fprint(t.tw, "\t")
		}
		fmt.Fprint(t.tw, v)
	}
	fmt.Fprintln(t.tw)
}

func (t *table) flush() error { return t.tw.Flush() }

// refusal turns an error of the service into the command's exit: a *importer.RuleError (an
// id the roster does not know, …) is refused with its rule code and exit 1, as a drop file's
// row would be; an unregistered district exits 1 too.
func refusal(err error) error {
	var re *importer.RuleError
	if errors.As(err, &re) {
		return &exitError{code: 1, msg: fmt.Sprintf("refused (%s): %s; nothing was recorded", re.Code, re.Message)}
	}
	if errors.Is(err, pthv.ErrNotFound) {
		return &exitError{code: 1, msg: err.Error()}
	}
	return err
}

// districtFlag defines --district ID, the same everywhere.
func districtFlag(fs *flag.FlagSet, usage string) *string {
	if usage == "" {
		usage = "the district's `ID` (required)"
	}
	return fs.String("district", "", usage)
}

// yearFlag defines --year, a school year written 2026-2027 (1 July – 30 June).
func yearFlag(fs *flag.FlagSet, usage string) *string {
	if usage == "" {
		usage = "school `YEAR`, e.g. 2026-2027 (required)"
	}
	return fs.String("year", "", usage)
}

// currentSchoolYear returns the school year (1 July – 30 June) of t, as 2026-2027, and the
// year it ends in.
func currentSchoolYear(t time.Time) (string, int) {
	y := t.UTC().Year()
	if t.UTC().Month() < time.July {
		y--
	}
	return fmt.Sprintf("%d-%d", y, y+1), y + 1
}

// int64Flag defines an int64 flag whose value must be 1 or more.
func int64Flag(fs *flag.FlagSet, name string, def int64, usage string) *int64 {
	p := new(int64)
	*p = def
	fs.Func(name, usage+" (default "+strconv.FormatInt(def, 10)+")", func(s string) error {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 1 {
			return errors.New("must be a whole number, 1 or more")
		}
		*p = n
		return nil
	})
	return p
}

// durationFlag defines a duration flag whose value must be more than zero.
func durationFlag(fs *flag.FlagSet, name string, def time.Duration, usage string) *time.Duration {
	p := new(time.Duration)
	*p = def
	fs.Func(name, usage+" (default "+def.String()+")", func(s string) error {
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 {
			return errors.New("must be a duration more than zero, such as 90s or 15m")
		}
		*p = d
		return nil
	})
	return p
}
