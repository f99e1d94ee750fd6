#!/usr/bin/env bash
# The PGXN release archive: `make dist` builds hrm-<version>.zip from the
# committed HEAD, and this checks it: every file of HEAD under the prefix
# hrm-<version>/ and nothing else, META.json's versions equal the Makefile's
# EXTVERSION and hrm.control's default_version, every file META.json names is
# in the archive, and the archive holds what a build and install need (the
# control file, Makefile, the install scripts' parts, the frozen and update
# scripts, src/ and src/core/ sources).  Needs git and perl (its core
# modules read the zip and the JSON).  No server.
#
#   bash test/dist.sh
set -euo pipefail

cd "$(dirname "$0")/.."
if ! command -v git >/dev/null || ! git rev-parse --verify -q HEAD >/dev/null 2>&1; then
    echo "dist: skipped: make dist archives the git HEAD, and this is not a git checkout"
    exit 0
fi
version=$(sed -n 's/^EXTVERSION = //p' Makefile)
control=$(sed -n "s/^default_version = '\(.*\)'/\1/p" hrm.control)
zip="hrm-$version.zip"

rm -f "$zip"
make -s dist >/dev/null
[ -f "$zip" ] || { echo "dist: make dist did not write $zip"; exit 1; }

git ls-tree -r --name-only HEAD | sed "s|^|hrm-$version/|" | sort >"$zip.expected"
perl -MIO::Uncompress::Unzip=\$UnzipError -MJSON::PP -e '
    use strict;
    my ($zip, $version, $control, $expected) = @ARGV;
    my $u = IO::Uncompress::Unzip->new($zip) or die "dist: cannot read $zip: $UnzipError\n";
    my (%files, $meta);
    for (my $st = 1; $st > 0; $st = $u->nextStream()) {
        my $name = $u->getHeaderInfo()->{Name};
        next if $name =~ m{/$};
        $files{$name} = 1;
        if ($name eq "hrm-$version/META.json") {
            local $/;
            $meta = <$u>;
        }
    }
    my @fail;
    open(my $fh, "<", $expected) or die;
    my @want = map { chomp; $_ } <$fh>;
    my %want = map { $_ => 1 } @want;
    push @fail, "missing from the archive: $_" for grep { !$files{$_} } @want;
    push @fail, "not a file of HEAD: $_" for grep { !$want{$_} } sort keys %files;
    push @fail, "outside the prefix hrm-$version/: $_" for grep { !m{^hrm-\Q$version\E/} } sort keys %files;
    for my $f (qw(META.json hrm.control Makefile README.md LICENSE sql/hrm--0.1.0.sql
                  sql/parts/00_header.sql src/pg/hrm.c src/pg/hrm_pg.h src/core/nn/forward.c)) {
        push @fail, "a build needs $f" unless $files{"hrm-$version/$f"};
    }
    push @fail, "no update script sql/hrm--*--$version.sql"
        unless grep { m{^hrm-\Q$version\E/sql/hrm--[^/]+--\Q$version\E\.sql$} } keys %files;
    die "dist: no META.json\n" unless defined $meta;
    my $m = JSON::PP->new->decode($meta);
    push @fail, "META.json version $m->{version} is not EXTVERSION $version" if $m->{version} ne $version;
    push @fail, "hrm.control default_version $control is not EXTVERSION $version" if $control ne $version;
    for my $ext (sort keys %{$m->{provides}}) {
        my $p = $m->{provides}{$ext};
        push @fail, "META.json provides $ext version $p->{version}, not $version" if $p->{version} ne $version;
        for my $k (qw(file docfile)) {
            next unless defined $p->{$k};
            push @fail, "META.json provides $ext $k \"$p->{$k}\", which is not in the archive"
                unless $files{"hrm-$version/$p->{$k}"};
        }
    }
    for my $k (qw(name abstract version maintainer license provides meta-spec)) {
        push @fail, "META.json lacks \"$k\"" unless exists $m->{$k};
    }
    if (@fail) { print "dist: $_\n" for @fail; exit 1; }
    printf "dist: %s: %d files under hrm-%s/, META.json consistent\n", $zip, scalar(keys %files), $version;
' "$zip" "$version" "$control" "$zip.expected"
rm -f "$zip.expected"
