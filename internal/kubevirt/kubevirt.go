// Package kubevirt writes the Kubernetes manifests that run a Runikraft
// image packaged as an OCI image (internal/oci) on KubeVirt: a
// VirtualMachine booting the image's kernel straight from the container
// image (spec.domain.firmware.kernelBoot.container), and a Service for
// the ports it publishes. The objects are KubeVirt's and Kubernetes' own
// API types, so what is written is what the API server decodes.
//
// What a KubeVirt VM gives the kernel differs from runikraft run: its
// devices are virtio-pci (the kernel drives virtio-mmio only), so the
// application's streams and the kernel's log all go to the serial console
// (kubectl/virtctl console), and entropy comes from the device tree's
// seed alone. No KubeVirt release runs riscv64 guests yet; the manifest
// asks for riscv64 nodes and the virt machine.
package kubevirt

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	kvv1 "kubevirt.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/runikraft/runikraft/internal/bootargs"
	"github.com/runikraft/runikraft/internal/oci"
)

// Label keys the manifests set; the Service selects the VM's pod by
// SelectorLabel.
const (
	SelectorLabel  = "runikraft.github.com/vm"
	NameLabel      = "app.kubernetes.io/name"
	ManagedByLabel = "app.kubernetes.io/managed-by"
)

// Port is one published port: Port on the Service, Target in the guest.
type Port struct {
	Port, Target int32
	Protocol     corev1.Protocol // TCP or UDP
}

// ParsePort reads a -p value: GUEST, HOST:GUEST, either with /tcp or /udp.
func ParsePort(s string) (Port, error) {
	p := Port{Protocol: corev1.ProtocolTCP}
	spec, proto, hasProto := strings.Cut(s, "/")
	if hasProto {
		switch strings.ToLower(proto) {
		case "tcp":
		case "udp":
			p.Protocol = corev1.ProtocolUDP
		default:
			return Port{}, fmt.Errorf("port %q: protocol %q, want tcp or udp", s, proto)
		}
	}
	num := func(v string) (int32, error) {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 65535 {
			return 0, fmt.Errorf("port %q: %q is not a port number 1..65535", s, v)
		}
		return int32(n), nil
	}
	host, guest, two := strings.Cut(spec, ":")
	var err error
	if !two {
		if p.Target, err = num(host); err != nil {
			return Port{}, err
		}
		p.Port = p.Target
		return p, nil
	}
	if p.Port, err = num(host); err != nil {
		return Port{}, err
	}
	if p.Target, err = num(guest); err != nil {
		return Port{}, err
	}
	return p, nil
}

// Options describe the manifests.
type Options struct {
	Name      string // VM and Service name (a DNS-1035 label)
	Namespace string // optional
	Image     string // the OCI image reference (runikraft pkg/push)
	Meta      *oci.Meta
	Cmdline   string // kernel command line, as runikraft run builds it
	MemoryMiB uint64
	CPUs      uint32
	Ports     []Port
}

var dns1035 = regexp.MustCompile(`^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$`)

// Objects returns the VirtualMachine and, with ports, its Service.
func Objects(o Options) (*kvv1.VirtualMachine, *corev1.Service, error) {
	switch {
	case !dns1035.MatchString(o.Name):
		return nil, nil, fmt.Errorf("name %q: want a DNS label (lower-case letters, digits, '-', at most 63)", o.Name)
	case o.Image == "":
		return nil, nil, errors.New("no image reference")
	case o.MemoryMiB == 0 || o.CPUs == 0:
		return nil, nil, errors.New("memory and CPUs must be set")
	}
	seen := map[string]bool{}
	for _, p := range o.Ports {
		k := fmt.Sprintf("%d/%s", p.Port, p.Protocol)
		if seen[k] {
			return nil, nil, fmt.Errorf("port %s published twice", k)
		}
		seen[k] = true
	}
	// The kernel prints its exit status on the console: nothing else
	// reports it from a VM.
	report, err := bootargs.EncodeKey(bootargs.ReportKey, nil)
	if err != nil {
		return nil, nil, err
	}
	cmdline := strings.TrimSpace(o.Cmdline + " " + report)

	labels := map[string]string{NameLabel: o.Name, ManagedByLabel: "runikraft"}
	podLabels := map[string]string{SelectorLabel: o.Name, NameLabel: o.Name}
	mem := resource.MustParse(strconv.FormatUint(o.MemoryMiB, 10) + "Mi")
	f := false
	t := true

	devices := kvv1.Devices{
		AutoattachGraphicsDevice: &f,
		AutoattachMemBalloon:     &f,
		AutoattachInputDevice:    &f,
		AutoattachSerialConsole:  &t,
		LogSerialConsole:         &t,
		Rng:                      &kvv1.Rng{},
	}
	spec := kvv1.VirtualMachineInstanceSpec{
		Architecture: oci.Platform.Architecture,
		NodeSelector: map[string]string{"kubernetes.io/arch": oci.Platform.Architecture},
		Domain: kvv1.DomainSpec{
			Machine: &kvv1.Machine{Type: "virt"},
			CPU:     &kvv1.CPU{Cores: o.CPUs, Sockets: 1, Threads: 1},
			Memory:  &kvv1.Memory{Guest: &mem},
			Resources: kvv1.ResourceRequirements{
				Requests: corev1.ResourceList{corev1.ResourceMemory: mem},
			},
			Firmware: &kvv1.Firmware{
				KernelBoot: &kvv1.KernelBoot{
					KernelArgs: cmdline,
					Container: &kvv1.KernelBootContainer{
						Image:           o.Image,
						KernelPath:      oci.KernelPath,
						ImagePullPolicy: corev1.PullIfNotPresent,
					},
				},
			},
			Devices: devices,
		},
	}
	zero := int64(0)
	spec.TerminationGracePeriodSeconds = &zero

	// A program that ends is done (Once); a server is kept running
	// (Always).
	run := kvv1.RunStrategyOnce
	var svc *corev1.Service
	if len(o.Ports) > 0 {
		run = kvv1.RunStrategyAlways
		iface := kvv1.Interface{
			Name:                   "default",
			InterfaceBindingMethod: kvv1.InterfaceBindingMethod{Masquerade: &kvv1.InterfaceMasquerade{}},
		}
		svc = &corev1.Service{
			TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
			ObjectMeta: metav1.ObjectMeta{Name: o.Name, Namespace: o.Namespace, Labels: labels},
			Spec:       corev1.ServiceSpec{Selector: map[string]string{SelectorLabel: o.Name}},
		}
		for _, p := range o.Ports {
			pname := fmt.Sprintf("%s-%d", strings.ToLower(string(p.Protocol)), p.Target)
			iface.Ports = append(iface.Ports, kvv1.Port{Name: pname, Protocol: string(p.Protocol), Port: p.Target})
			svc.Spec.Ports = append(svc.Spec.Ports, corev1.ServicePort{
				Name: fmt.Sprintf("%s-%d", strings.ToLower(string(p.Protocol)), p.Port), Protocol: p.Protocol,
				Port: p.Port, TargetPort: intstr.FromInt32(p.Target),
			})
		}
		spec.Domain.Devices.Interfaces = []kvv1.Interface{iface}
		spec.Networks = []kvv1.Network{{Name: "default", NetworkSource: kvv1.NetworkSource{Pod: &kvv1.PodNetwork{}}}}
		// Ready once the first TCP port accepts connections.
		for _, p := range o.Ports {
			if p.Protocol == corev1.ProtocolTCP {
				spec.ReadinessProbe = &kvv1.Probe{
					Handler:          kvv1.Handler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt32(p.Target)}},
					PeriodSeconds:    5,
					FailureThreshold: 3,
				}
				spec.LivenessProbe = &kvv1.Probe{
					Handler:             kvv1.Handler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt32(p.Target)}},
					InitialDelaySeconds: 30,
					PeriodSeconds:       10,
					FailureThreshold:    6,
				}
				break
			}
		}
	} else {
		spec.Domain.Devices.AutoattachPodInterface = &f
	}

	vm := &kvv1.VirtualMachine{
		TypeMeta: metav1.TypeMeta{APIVersion: kvv1.GroupVersion.String(), Kind: "VirtualMachine"},
		ObjectMeta: metav1.ObjectMeta{
			Name: o.Name, Namespace: o.Namespace, Labels: labels,
			Annotations: annotations(o.Meta),
		},
		Spec: kvv1.VirtualMachineSpec{
			RunStrategy: &run,
			Template: &kvv1.VirtualMachineInstanceTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: podLabels},
				Spec:       spec,
			},
		},
	}
	return vm, svc, nil
}

// annotations carry the image's facts, as the OCI image's do.
func annotations(m *oci.Meta) map[string]string {
	if m == nil {
		return nil
	}
	a := m.Annotations()
	delete(a, oci.AnnTitle)
	return a
}

// YAML renders the objects as one multi-document YAML stream.
func YAML(o Options) ([]byte, error) {
	vm, svc, err := Objects(o)
	if err != nil {
		return nil, fmt.Errorf("kubevirt: %w", err)
	}
	objs := []any{vm}
	if svc != nil {
		objs = append(objs, svc)
	}
	var b bytes.Buffer
	for i, obj := range objs {
		y, err := manifest(obj)
		if err != nil {
			return nil, fmt.Errorf("kubevirt: %w", err)
		}
		if i > 0 {
			b.WriteString("---\n")
		}
		b.Write(y)
	}
	// What is written must read back as what was meant.
	if _, _, err := Decode(b.Bytes()); err != nil {
		return nil, fmt.Errorf("kubevirt: the manifest does not decode: %w", err)
	}
	return b.Bytes(), nil
}

// Decode reads a stream YAML wrote: a VirtualMachine and an optional
// Service, each decoded strictly into its API type. Strictly means that
// a field the type does not have is an error: yaml.UnmarshalStrict alone
// does not see below a type with its own UnmarshalJSON (KubeVirt's
// VirtualMachineInstanceSpec has one), so each decoded object is also
// rendered back, and a field the type dropped makes the two differ.
func Decode(y []byte) (*kvv1.VirtualMachine, *corev1.Service, error) {
	var vm *kvv1.VirtualMachine
	var svc *corev1.Service
	for _, doc := range bytes.Split(y, []byte("\n---\n")) {
		var tm metav1.TypeMeta
		if err := yaml.Unmarshal(doc, &tm); err != nil {
			return nil, nil, err
		}
		switch {
		case tm.APIVersion == kvv1.GroupVersion.String() && tm.Kind == "VirtualMachine" && vm == nil:
			vm = new(kvv1.VirtualMachine)
			if err := strict(doc, vm); err != nil {
				return nil, nil, err
			}
		case tm.APIVersion == "v1" && tm.Kind == "Service" && svc == nil:
			svc = new(corev1.Service)
			if err := strict(doc, svc); err != nil {
				return nil, nil, err
			}
		default:
			return nil, nil, fmt.Errorf("unexpected document %s %s", tm.APIVersion, tm.Kind)
		}
	}
	if vm == nil {
		return nil, nil, errors.New("no VirtualMachine")
	}
	return vm, svc, nil
}

func strict(doc []byte, obj any) error {
	if err := yaml.UnmarshalStrict(doc, obj); err != nil {
		return err
	}
	back, err := manifest(obj)
	if err != nil {
		return err
	}
	var a, b any
	if err := yaml.Unmarshal(doc, &a); err != nil {
		return err
	}
	if err := yaml.Unmarshal(back, &b); err != nil {
		return err
	}
	if !reflect.DeepEqual(a, b) {
		return fmt.Errorf("fields lost in a round trip through %T:\nwritten:\n%s\nas decoded:\n%s", obj, doc, back)
	}
	return nil
}

// manifest renders obj without the fields the API types always marshal
// but a manifest to apply has no business carrying: status and
// creationTimestamp (null).
func manifest(obj any) ([]byte, error) {
	js, err := json.Marshal(obj)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(js, &m); err != nil {
		return nil, err
	}
	delete(m, "status")
	dropNullTimestamps(m)
	return yaml.Marshal(m)
}

func dropNullTimestamps(v any) {
	switch v := v.(type) {
	case map[string]any:
		if ts, ok := v["creationTimestamp"]; ok && ts == nil {
			delete(v, "creationTimestamp")
		}
		for _, e := range v {
			dropNullTimestamps(e)
		}
	case []any:
		for _, e := range v {
			dropNullTimestamps(e)
		}
	}
}
