// The mobile key web app (served under /key/ by src/app/routes.ts): enrol a device key, open
// a login from its QR or the same-device link, approve or deny it, manage this device's keys.
import { render } from 'preact';
import { App } from './App.tsx';
import './app.css';

const root = document.getElementById('app');
if (root) {
  root.textContent = '';
  render(<App />, root);
}
