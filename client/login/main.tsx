// The hosted login page's script: hydrates the server-rendered page (see src/login/).
export {};
