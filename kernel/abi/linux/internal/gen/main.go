// Command gen writes kernel/abi/linux's generated files from the Linux
// riscv64 tables that ship with the Go toolchain (the x/sys/unix copy
// vendored under $GOROOT/src/cmd/vendor), so numbers are never typed by
// hand: zsysnum.go (system-call numbers and names) and zconsts.go (errno
// values, names and messages; signals; the flag families the kernel uses).
//
// Run through go generate in kernel/abi/linux.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"go/ast"
	"go/format"
	"go/parser"
	"go/token"
	"log"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
)

// prefixes selects the constant families kernel/abi/linux exports from
// zerrors_linux*.go. A family is listed when the kernel, the loader, the
// posix layer or the tools use it (or the net issue will).
var prefixes = []string{
	"AF_", "AT_", "CLOCK_", "CLONE_", "DT_", "EFD_", "EPOLL", "FALLOC_", "FD_",
	"F_", "FIONBIO", "FIONREAD", "GRND_", "IFA_", "IFF_", "IFLA_", "ARPHRD_", "IN_", "IPPROTO_",
	"IPV6_", "IP_", "ITIMER_", "LOCK_", "MADV_", "MAP_", "MCL_", "MFD_",
	"MREMAP_", "MSG_", "MS_", "NETLINK_", "NLMSG_", "NLM_", "O_", "POLL",
	"PROT_", "PR_", "RENAME_", "RLIMIT_", "RTA_", "RTM_", "RTN_", "RTPROT_",
	"RT_SCOPE_", "RWF_", "SA_", "SCHED_", "SCM_", "SEEK_", "SFD_", "SHUT_",
	"SIOC", "SOCK_", "SOL_", "SOMAXCONN", "SO_", "SS_", "STATX_", "S_I",
	"TCP_", "TCGETS", "TCSETS", "TFD_", "TIOC", "UTIME_", "WNOHANG", "WUNTRACED",
	"WEXITED", "WSTOPPED", "WCONTINUED", "WNOWAIT", "WALL", "WCLONE", "WNOTHREAD", "XATTR_",
	"P_ALL", "P_PID", "P_PGID", "P_PIDFD", "TMPFS_MAGIC", "PROC_SUPER_MAGIC", "V9FS_MAGIC", "RLIM_INFINITY",
}

// skip drops members of those families that are not the kernel's ABI
// (ioctl helpers of other subsystems, glibc-only names).
var skip = []string{"PR_SET_MM_", "PR_MTE_", "PR_PAC_", "PR_SME_", "PR_SVE_", "PR_SCHED_CORE", "PR_RISCV_V_", "PR_PPC_", "PR_SPEC_", "PR_FP_", "PR_TSC_", "PR_MDWE_", "PR_SHADOW_", "PR_TAGGED_", "PR_PMLEN_", "PR_FUTEX_", "PR_GET_MEM", "PR_MEMORY_", "PR_SET_MEM", "PR_TIMER_", "PR_UNALIGN_", "PR_ENDIAN_", "PR_FPEMU_", "PR_MCE_", "PR_THP_", "PR_PPC"}

type konst struct {
	name, value, comment string
}

func main() {
	out := flag.String("o", ".", "directory to write into")
	flag.Parse()
	src := filepath.Join(runtime.GOROOT(), "src", "cmd", "vendor", "golang.org", "x", "sys", "unix")
	sysnums := consts(filepath.Join(src, "zsysnum_linux_riscv64.go"))
	var general []konst
	for _, f := range []string{"zerrors_linux.go", "zerrors_linux_riscv64.go", "ztypes_linux.go", "ztypes_linux_riscv64.go"} {
		general = append(general, consts(filepath.Join(src, f))...)
	}
	errs, sigs := lists(filepath.Join(src, "zerrors_linux_riscv64.go"))
	write(filepath.Join(*out, "zsysnum.go"), sysnumFile(sysnums))
	write(filepath.Join(*out, "zconsts.go"), constFile(general, errs, sigs))
}

func write(path string, src []byte) {
	b, err := format.Source(src)
	if err != nil {
		log.Fatalf("gen: formatting %s: %v", path, err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		log.Fatal(err)
	}
}

// consts returns the integer constants a file declares, with their
// literal values (x/sys writes them as literals or as syscall.Errno(...)
// and syscall.Signal(...) conversions).
func consts(path string) []konst {
	f, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
	if err != nil {
		log.Fatalf("gen: %v", err)
	}
	var ks []konst
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST {
			continue
		}
		for _, s := range g.Specs {
			v := s.(*ast.ValueSpec)
			for i, n := range v.Names {
				if i >= len(v.Values) {
					continue
				}
				switch e := v.Values[i].(type) {
				case *ast.BasicLit:
					if e.Kind == token.INT {
						ks = append(ks, konst{name: n.Name, value: e.Value})
					}
				case *ast.CallExpr:
					sel, ok := e.Fun.(*ast.SelectorExpr)
					lit, ok2 := e.Args[0].(*ast.BasicLit)
					if ok && ok2 {
						ks = append(ks, konst{name: n.Name, value: sel.Sel.Name + "(" + lit.Value + ")"})
					}
				case *ast.UnaryExpr: // -0x1 and the like
					if lit, ok := e.X.(*ast.BasicLit); ok && e.Op == token.SUB {
						ks = append(ks, konst{name: n.Name, value: "-" + lit.Value})
					}
				}
			}
		}
	}
	return ks
}

type named struct {
	num        int64
	name, desc string
}

// lists reads errorList and signalList (number, name, description).
func lists(path string) (errs, sigs []named) {
	f, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
	if err != nil {
		log.Fatalf("gen: %v", err)
	}
	ast.Inspect(f, func(n ast.Node) bool {
		vs, ok := n.(*ast.ValueSpec)
		if !ok || len(vs.Names) != 1 || len(vs.Values) != 1 {
			return true
		}
		cl, ok := vs.Values[0].(*ast.CompositeLit)
		if !ok {
			return true
		}
		var dst *[]named
		switch vs.Names[0].Name {
		case "errorList":
			dst = &errs
		case "signalList":
			dst = &sigs
		default:
			return true
		}
		for _, el := range cl.Elts {
			row := el.(*ast.CompositeLit)
			var r named
			if len(row.Elts) != 3 {
				log.Fatalf("gen: unexpected row in %s", vs.Names[0].Name)
			}
			num := row.Elts[0].(*ast.BasicLit).Value
			r.num, err = strconv.ParseInt(num, 0, 64)
			if err != nil {
				log.Fatalf("gen: %v", err)
			}
			r.name, _ = strconv.Unquote(row.Elts[1].(*ast.BasicLit).Value)
			r.desc, _ = strconv.Unquote(row.Elts[2].(*ast.BasicLit).Value)
			*dst = append(*dst, r)
		}
		return false
	})
	if len(errs) == 0 || len(sigs) == 0 {
		log.Fatalf("gen: no errorList or signalList in %s", path)
	}
	return errs, sigs
}

const header = "// Code generated by kernel/abi/linux/internal/gen from the Go toolchain's\n// Linux riscv64 tables; DO NOT EDIT.\n\npackage linux\n\n"

func sysnumFile(ks []konst) []byte {
	var b bytes.Buffer
	b.WriteString(header)
	b.WriteString("// System-call numbers of Linux riscv64.\nconst (\n")
	type row struct {
		nr   int64
		name string
	}
	var rows []row
	for _, k := range ks {
		if !strings.HasPrefix(k.name, "SYS_") {
			continue
		}
		fmt.Fprintf(&b, "\t%s = %s\n", k.name, k.value)
		nr, err := strconv.ParseInt(k.value, 0, 64)
		if err != nil {
			log.Fatalf("gen: %s: %v", k.name, err)
		}
		if k.name == "SYS_ARCH_SPECIFIC_SYSCALL" {
			continue // a base number, not a call
		}
		rows = append(rows, row{nr, strings.ToLower(strings.TrimPrefix(k.name, "SYS_"))})
	}
	b.WriteString(")\n\n")
	sort.Slice(rows, func(i, j int) bool { return rows[i].nr < rows[j].nr })
	// An array by number, which the linker lays out as data: a map
	// literal is code that runs at every boot.
	b.WriteString("// syscallNames holds each call's name as Linux spells it, by number.\nvar syscallNames = [...]string{\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "\t%d: %q,\n", r.nr, r.name)
	}
	b.WriteString("}\n\n")
	b.WriteString("// SyscallName returns the name Linux gives call nr, \"\" for a number it\n// does not have.\nfunc SyscallName(nr uint64) string {\n\tif nr < uint64(len(syscallNames)) {\n\t\treturn syscallNames[nr]\n\t}\n\treturn \"\"\n}\n")
	return b.Bytes()
}

func selected(name string) bool {
	for _, s := range skip {
		if strings.HasPrefix(name, s) {
			return false
		}
	}
	for _, p := range prefixes {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

func constFile(ks []konst, errs, sigs []named) []byte {
	var b bytes.Buffer
	b.WriteString(header)
	b.WriteString("import \"syscall\"\n\n")
	seen := map[string]bool{}
	var errnos, signals, flags []konst
	for _, k := range ks {
		if seen[k.name] {
			continue
		}
		switch {
		case strings.HasPrefix(k.value, "Errno("):
			errnos = append(errnos, k)
		case strings.HasPrefix(k.value, "Signal("):
			signals = append(signals, k)
		case selected(k.name):
			flags = append(flags, k)
		default:
			continue
		}
		seen[k.name] = true
	}
	sort.Slice(flags, func(i, j int) bool { return flags[i].name < flags[j].name })
	b.WriteString("// Error numbers.\nconst (\n")
	for _, k := range errnos {
		fmt.Fprintf(&b, "\t%s = syscall.%s\n", k.name, k.value)
	}
	b.WriteString(")\n\n// Signal numbers.\nconst (\n")
	for _, k := range signals {
		fmt.Fprintf(&b, "\t%s = %s\n", k.name, strings.TrimSuffix(strings.TrimPrefix(k.value, "Signal("), ")"))
	}
	b.WriteString(")\n\n// Flags and other constants of the Linux riscv64 ABI.\nconst (\n")
	for _, k := range flags {
		fmt.Fprintf(&b, "\t%s = %s\n", k.name, k.value)
	}
	b.WriteString(")\n\n")
	b.WriteString("// errnoNames maps error numbers to their names and messages.\nvar errnoNames = [...]struct{ name, desc string }{\n")
	for _, e := range errs {
		fmt.Fprintf(&b, "\t%d: {%q, %q},\n", e.num, e.name, e.desc)
	}
	b.WriteString("}\n\n// signalNames maps signal numbers to their names and descriptions.\nvar signalNames = [...]struct{ name, desc string }{\n")
	for _, s := range sigs {
		fmt.Fprintf(&b, "\t%d: {%q, %q},\n", s.num, s.name, s.desc)
	}
	b.WriteString("}\n")
	return b.Bytes()
}
