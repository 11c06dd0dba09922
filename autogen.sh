#!/bin/sh
# SPDX-License-Identifier: MIT
# Generate ./configure and the Makefile.in files.
set -e
cd "$(dirname "$0")"
autoreconf --force --install --verbose
