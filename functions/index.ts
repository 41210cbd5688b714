// The Functions host loads this file (package.json "main"); each import registers its triggers.
import './health.js';
