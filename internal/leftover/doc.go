// Package leftover names what tests create outside themselves (network
// namespaces, kind clusters) after the creating process, and removes what a
// process that is gone left behind: a test killed before its cleanups ran
// must not make the next run fail on a name that exists already.
//
// A name is <prefix>-<pid>[-<rest>]. It is left over when no process <pid>
// runs, or when <pid> is the caller's own and the caller has not created
// anything yet (process ids are reused, in containers quickly).
package leftover
