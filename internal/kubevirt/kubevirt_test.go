package kubevirt

import (
	"bytes"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	kvv1 "kubevirt.io/api/core/v1"

	"github.com/runikraft/runikraft/internal/bootargs"
	"github.com/runikraft/runikraft/internal/oci"
)

func meta() *oci.Meta {
	return &oci.Meta{Kernel: "k", App: "hello", AppKind: "static-pie", AppSize: 100, Args: []string{"a"}, Env: []string{"K=v"}, ImageSize: 200, MemorySize: 300, KernelSize: 50}
}

func decode(t *testing.T, y []byte) (*kvv1.VirtualMachine, *corev1.Service) {
	t.Helper()
	vm, svc, err := Decode(y)
	if err != nil {
		t.Fatalf("%v\n%s", err, y)
	}
	return vm, svc
}

func TestServer(t *testing.T) {
	cmdline, err := bootargs.Encode([]string{"hello", "a"}, []string{"K=v"})
	if err != nil {
		t.Fatal(err)
	}
	y, err := YAML(Options{
		Name: "hello", Namespace: "apps", Image: "registry.example:5000/hello:1", Meta: meta(),
		Cmdline: cmdline, MemoryMiB: 256, CPUs: 2,
		Ports: []Port{{Port: 8080, Target: 80, Protocol: corev1.ProtocolTCP}, {Port: 53, Target: 53, Protocol: corev1.ProtocolUDP}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(y, []byte("status:")) || bytes.Contains(y, []byte("creationTimestamp")) {
		t.Errorf("manifest carries status or creationTimestamp:\n%s", y)
	}
	vm, svc := decode(t, y)
	if svc == nil {
		t.Fatal("ports published but no Service")
	}
	if vm.Name != "hello" || vm.Namespace != "apps" || vm.Annotations[oci.AnnApp] != "hello" {
		t.Errorf("metadata %+v", vm.ObjectMeta)
	}
	if vm.Spec.RunStrategy == nil || *vm.Spec.RunStrategy != kvv1.RunStrategyAlways {
		t.Errorf("run strategy %v, want Always for a server", vm.Spec.RunStrategy)
	}
	spec := vm.Spec.Template.Spec
	kb := spec.Domain.Firmware.KernelBoot
	if kb == nil || kb.Container == nil || kb.Container.Image != "registry.example:5000/hello:1" || kb.Container.KernelPath != oci.KernelPath || kb.Container.InitrdPath != "" {
		t.Fatalf("kernel boot %+v", kb)
	}
	args, env, err := bootargs.Decode(kb.KernelArgs)
	if err != nil || strings.Join(args, ",") != "hello,a" || strings.Join(env, ",") != "K=v" {
		t.Errorf("kernel args %q: %q %q %v", kb.KernelArgs, args, env, err)
	}
	if _, ok, _ := bootargs.DecodeKey(kb.KernelArgs, bootargs.ReportKey); !ok {
		t.Errorf("kernel args %q lack %s", kb.KernelArgs, bootargs.ReportKey)
	}
	if spec.Architecture != "riscv64" || spec.NodeSelector["kubernetes.io/arch"] != "riscv64" || spec.Domain.Machine.Type != "virt" {
		t.Errorf("architecture %q, node selector %v, machine %+v", spec.Architecture, spec.NodeSelector, spec.Domain.Machine)
	}
	if g := spec.Domain.Memory.Guest; g == nil || g.Value() != 256<<20 {
		t.Errorf("guest memory %v", g)
	}
	if r := spec.Domain.Resources.Requests[corev1.ResourceMemory]; r.Value() != 256<<20 {
		t.Errorf("memory request %v", r)
	}
	if spec.Domain.CPU.Cores != 2 {
		t.Errorf("cores %d", spec.Domain.CPU.Cores)
	}
	ifs := spec.Domain.Devices.Interfaces
	if len(ifs) != 1 || ifs[0].Masquerade == nil || len(ifs[0].Ports) != 2 || ifs[0].Ports[0].Port != 80 || ifs[0].Ports[1].Protocol != "UDP" {
		t.Errorf("interfaces %+v", ifs)
	}
	if len(spec.Networks) != 1 || spec.Networks[0].Pod == nil || spec.Networks[0].Name != ifs[0].Name {
		t.Errorf("networks %+v", spec.Networks)
	}
	for _, p := range []*kvv1.Probe{spec.ReadinessProbe, spec.LivenessProbe} {
		if p == nil || p.TCPSocket == nil || p.TCPSocket.Port.IntValue() != 80 {
			t.Errorf("probe %+v, want TCP on the first TCP port, 80", p)
		}
	}
	if svc.Spec.Selector[SelectorLabel] != "hello" || vm.Spec.Template.ObjectMeta.Labels[SelectorLabel] != "hello" {
		t.Errorf("service selector %v does not select the VM's pod (labels %v)", svc.Spec.Selector, vm.Spec.Template.ObjectMeta.Labels)
	}
	if len(svc.Spec.Ports) != 2 || svc.Spec.Ports[0].Port != 8080 || svc.Spec.Ports[0].TargetPort.IntValue() != 80 || svc.Spec.Ports[1].Protocol != corev1.ProtocolUDP {
		t.Errorf("service ports %+v", svc.Spec.Ports)
	}
}

func TestProgram(t *testing.T) {
	y, err := YAML(Options{Name: "job", Image: "r.example/job@sha256:" + strings.Repeat("a", 64), Meta: meta(), MemoryMiB: 64, CPUs: 1})
	if err != nil {
		t.Fatal(err)
	}
	vm, svc := decode(t, y)
	if svc != nil {
		t.Error("a Service without published ports")
	}
	spec := vm.Spec.Template.Spec
	if *vm.Spec.RunStrategy != kvv1.RunStrategyOnce || spec.ReadinessProbe != nil || len(spec.Networks) != 0 {
		t.Errorf("program: run strategy %v, probe %v, networks %v", *vm.Spec.RunStrategy, spec.ReadinessProbe, spec.Networks)
	}
	if p := spec.Domain.Devices.AutoattachPodInterface; p == nil || *p {
		t.Errorf("autoattachPodInterface %v, want false without ports", p)
	}
}

// TestStrictDecodeCatches shows the validation is not vacuous: a
// misspelt field fails to decode.
func TestStrictDecodeCatches(t *testing.T) {
	y, err := YAML(Options{Name: "x", Image: "r.example/x:1", MemoryMiB: 64, CPUs: 1})
	if err != nil {
		t.Fatal(err)
	}
	bad := bytes.Replace(y, []byte("kernelPath:"), []byte("kernelPth:"), 1)
	if bytes.Equal(bad, y) {
		t.Fatal("no kernelPath in the manifest")
	}
	if _, _, err := Decode(bad); err == nil {
		t.Error("strict decoding accepted an unknown field")
	}
	// One below the VirtualMachine's own fields, too.
	bad = bytes.Replace(y, []byte("runStrategy:"), []byte("runStrategie:"), 1)
	if _, _, err := Decode(bad); err == nil {
		t.Error("strict decoding accepted an unknown top-level spec field")
	}
}

func TestOptionsRefused(t *testing.T) {
	good := Options{Name: "ok", Image: "r.example/x:1", MemoryMiB: 64, CPUs: 1}
	for _, o := range []Options{
		func() Options { o := good; o.Name = "Not_DNS"; return o }(),
		func() Options { o := good; o.Image = ""; return o }(),
		func() Options { o := good; o.MemoryMiB = 0; return o }(),
		func() Options {
			o := good
			o.Ports = []Port{{Port: 80, Target: 80, Protocol: "TCP"}, {Port: 80, Target: 81, Protocol: "TCP"}}
			return o
		}(),
	} {
		if _, _, err := Objects(o); err == nil {
			t.Errorf("Objects(%+v) succeeded", o)
		}
	}
}

func TestParsePort(t *testing.T) {
	for in, want := range map[string]Port{
		"80":          {80, 80, corev1.ProtocolTCP},
		"8080:80":     {8080, 80, corev1.ProtocolTCP},
		"53/udp":      {53, 53, corev1.ProtocolUDP},
		"5353:53/UDP": {5353, 53, corev1.ProtocolUDP},
	} {
		got, err := ParsePort(in)
		if err != nil || got != want {
			t.Errorf("ParsePort(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "0", "65536", "a:80", "80:", "80/sctp", "1:2:3"} {
		if p, err := ParsePort(in); err == nil {
			t.Errorf("ParsePort(%q) = %+v, want an error", in, p)
		}
	}
}
