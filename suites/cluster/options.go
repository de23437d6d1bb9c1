package cluster

import (
	"fmt"
	"io"

	"github.com/svccheck/svccheck/proxy"
)

// DefaultName is the cluster name used when Options.Name is empty.
const DefaultName = "svccheck"

// DefaultWorkers is the number of worker nodes used when Options.Workers is 0.
const DefaultWorkers = 2

// PodSubnet is the pod network of every svccheck cluster (kind's default).
const PodSubnet = "10.244.0.0/16"

// ServiceSubnet is the Service network of every svccheck cluster (kind's default).
const ServiceSubnet = "10.96.0.0/16"

// Options says what cluster Create makes.
type Options struct {
	// Name is the kind cluster name; DefaultName when empty.
	Name string
	// Workers is the number of worker nodes beside the one control plane;
	// DefaultWorkers when 0.
	Workers int
	// Proxy is the Service proxy to run; proxy.Svccheck when empty.
	Proxy proxy.Mode
	// NodeImage is the kind node image. When empty, kind's default image is
	// used if Docker has it or can pull it, else svccheck's air-gapped image
	// (built on first use).
	NodeImage string
	// Kubeconfig is where the cluster's kubeconfig is written; when empty,
	// DefaultKubeconfigPath(Name), which svccheck writes whole. Into any
	// other file kind merges the cluster's entries (context kind-<Name>),
	// keeping the file's other entries; Delete removes only those entries
	// from it.
	Kubeconfig string
	// Retain keeps the node containers of a failed or interrupted create, for
	// debugging.
	Retain bool
	// Progress receives one line per step, with the elapsed time; nil
	// discards them.
	Progress io.Writer
	// Binary is the static linux svccheck binary loaded onto the nodes (in
	// the svccheck image and at /usr/local/bin/svccheck); when empty, the
	// running executable.
	Binary string
}

func (o Options) withDefaults() (Options, error) {
	if o.Name == "" {
		o.Name = DefaultName
	}
	if o.Workers == 0 {
		o.Workers = DefaultWorkers
	}
	if o.Workers < 0 {
		return o, fmt.Errorf("workers must not be negative, got %d", o.Workers)
	}
	if o.Proxy == "" {
		o.Proxy = proxy.Svccheck
	}
	if _, err := proxy.ParseMode(string(o.Proxy)); err != nil {
		return o, err
	}
	if o.Progress == nil {
		o.Progress = io.Discard
	}
	if o.Kubeconfig == "" {
		p, err := DefaultKubeconfigPath(o.Name)
		if err != nil {
			return o, err
		}
		o.Kubeconfig = p
	}
	return o, nil
}
