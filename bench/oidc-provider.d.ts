// The peer is used only as a black box by the benchmark; no types are published for v9.
declare module 'oidc-provider' {
  export class Provider {
    constructor(issuer: string, configuration: Record<string, unknown>);
    proxy: boolean;
    listen(port: number, host: string, callback: () => void): import('node:http').Server;
  }
}
