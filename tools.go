//go:build tools

// Package main pins the modules ambx builds on before code imports them.
package main

import (
	_ "charm.land/bubbles/v2/table"
	_ "charm.land/bubbletea/v2"
	_ "charm.land/lipgloss/v2"
	_ "github.com/atotto/clipboard"
	_ "istio.io/client-go/pkg/clientset/versioned"
	_ "istio.io/client-go/pkg/clientset/versioned/fake"
	_ "istio.io/client-go/pkg/informers/externalversions"
	_ "k8s.io/client-go/informers"
	_ "k8s.io/client-go/kubernetes"
	_ "k8s.io/client-go/kubernetes/fake"
	_ "k8s.io/client-go/tools/clientcmd"
	_ "k8s.io/metrics/pkg/client/clientset/versioned"
	_ "k8s.io/metrics/pkg/client/clientset/versioned/fake"
	_ "sigs.k8s.io/gateway-api/pkg/client/clientset/versioned"
	_ "sigs.k8s.io/gateway-api/pkg/client/clientset/versioned/fake"
	_ "sigs.k8s.io/gateway-api/pkg/client/informers/externalversions"
	_ "sigs.k8s.io/yaml"
)

func main() {}
