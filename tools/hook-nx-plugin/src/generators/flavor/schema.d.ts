export interface FlavorGeneratorSchema {
  id: string;
  kernel: string;
  arch?: 'x86_64' | 'aarch64';
  tags?: string;
  template?: string;
  iso?: boolean;
  description?: string;
}
