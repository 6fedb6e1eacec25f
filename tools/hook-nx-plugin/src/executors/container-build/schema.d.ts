export interface ContainerBuildSchema {
  /** Image folder name under images/. */
  image: string;
  arch: 'amd64' | 'arm64';
}
