// Package testenv decides whether a test may run on this machine: root,
// the tools it runs, and so on. A test that cannot run skips, saying why;
// with SVCCHECK_REQUIRE_PRIVILEGED=1 in the environment (as CI sets it) it
// fails instead, so a run that lost its privileges or its tools cannot
// pass by skipping what it was meant to check.
//
// Skips under -short are not routed here: -short asks for fewer tests and
// is not a lack of privilege.
package testenv
