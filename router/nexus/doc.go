// Package nexus gives the embeddable router of package router the
// authentication, authorization and services of Zaber's Nexus (the
// crossbar-based router behind wss://nexus.izaber.com/ws), so clients written
// for Nexus, such as izaber-wamp, work against it unchanged.
//
// Work in progress: see the final package documentation.
package nexus
