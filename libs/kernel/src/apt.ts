/** Debian packages through apt: moved to @hook/debian (other libraries download .debs too). */
export { AptSuite, hostDebianMirror, parseAptSources, debianArchOf, type AptSource, type AptVersion } from '@hook/debian';
