module github.com/ktest-dev/ktest

go 1.26.8
