// Placeholder entry point of the storage operator image; the operator sources live in the
// MetalK8s repository's storage-operator/ directory.
package main

import "fmt"

func main() {
	fmt.Println("storage-operator")
}
