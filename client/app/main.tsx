// The mobile key web app (served under /key/).
export {};
