package toolchain

import (
	"fmt"
	"os"
	"strings"
)

// maxRspDepth bounds nested @file expansion; gcc's libiberty stops a loop
// the same way, just later.
const maxRspDepth = 32

// ExpandResponseFiles replaces every @FILE argument with the arguments read
// from FILE, recursively, with gcc's (libiberty's) quoting rules. As with
// gcc, an @FILE that cannot be read stays a literal argument.
func ExpandResponseFiles(args []string) ([]string, error) {
	return expandRsp(args, 0)
}

func expandRsp(args []string, depth int) ([]string, error) {
	var out []string
	for i, a := range args {
		if len(a) < 2 || a[0] != '@' {
			out = append(out, a)
			continue
		}
		data, err := os.ReadFile(a[1:])
		if err != nil {
			out = append(out, a)
			continue
		}
		if depth >= maxRspDepth {
			return nil, fmt.Errorf("%s: response files nested more than %d deep", a, maxRspDepth)
		}
		sub, err := expandRsp(SplitResponseFile(string(data)), depth+1)
		if err != nil {
			return nil, err
		}
		if out == nil {
			out = append([]string{}, args[:i]...)
		}
		out = append(out, sub...)
	}
	return out, nil
}

// SplitResponseFile splits a response file's text like libiberty's
// buildargv: whitespace separates arguments, single and double quotes
// group, and a backslash takes the next character literally everywhere,
// even inside quotes.
func SplitResponseFile(s string) []string {
	var (
		args   []string
		cur    strings.Builder
		inArg  bool
		squote bool
		dquote bool
		escape bool
	)
	for _, r := range s {
		switch {
		case escape:
			escape = false
			cur.WriteRune(r)
		case r == '\\':
			escape, inArg = true, true
		case squote:
			if r == '\'' {
				squote = false
			} else {
				cur.WriteRune(r)
			}
		case dquote:
			if r == '"' {
				dquote = false
			} else {
				cur.WriteRune(r)
			}
		case isRspSpace(r):
			if inArg {
				args = append(args, cur.String())
				cur.Reset()
				inArg = false
			}
		case r == '\'':
			squote, inArg = true, true
		case r == '"':
			dquote, inArg = true, true
		default:
			inArg = true
			cur.WriteRune(r)
		}
	}
	if inArg {
		args = append(args, cur.String())
	}
	return args
}

func isRspSpace(r rune) bool {
	return r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '\f' || r == '\v'
}

// QuoteResponseArg quotes one argument for a gcc response file.
func QuoteResponseArg(a string) string {
	if a == "" {
		return `""`
	}
	var b strings.Builder
	for _, r := range a {
		if isRspSpace(r) || r == '\\' || r == '\'' || r == '"' {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}
