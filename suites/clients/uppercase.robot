*** Settings ***
Documentation       UDP uppercase client (seed: lesson 000's UDP client).
...
...                 Run as ``CLIENT_CMD --host HOST --port PORT``, the client prompts
...                 ``Input a lowercase sentence``, reads one line from stdin, sends it as one
...                 datagram (without its newline), prints the server's reply, and exits
...                 with code 0.
...
...                 Here the suite is the server: it receives the datagram and answers the
...                 sender as the uppercase server does.
Resource            ${{ SocketLibrary.CLIENT_RESOURCE }}
Test Setup          A Server Listening On UDP
Test Teardown       Stop The Client And Close Connections
Test Template       The Typed Line Is Sent And The Reply Printed
Test Tags           udp    uppercase    client
Test Timeout        ${TEST_TIMEOUT}


*** Test Cases ***                              TYPED                   REPLY
A Sentence Is Sent And Its Reply Printed        hello world             HELLO WORLD
Non-ASCII Text Is Sent And Printed As Text      straße über             STRASSE ÜBER

It Prompts For The Sentence
    [Documentation]    Before reading, the client asks for a lowercase sentence on stdout.
    [Template]    NONE
    When The Client Runs With Input    hello
    Then The Client Prints "Input a lowercase sentence"

It Exits With Code 0 After Printing The Reply
    [Documentation]    Once it has printed the reply, the client exits with code 0.
    [Template]    NONE
    When The Client Runs With Input    bye
    And The Server Receives "bye"
    And The Server Replies "BYE"
    Then It Exits With Code 0


*** Keywords ***
The Typed Line Is Sent And The Reply Printed
    [Documentation]    The line typed on stdin arrives as one datagram, exactly, without its
    ...    newline; the reply sent back to the client is printed.
    [Arguments]    ${typed}    ${reply}
    When The Client Runs With Input    ${typed}
    Then The Server Receives "${typed}"
    When The Server Replies "${reply}"
    Then The Client Prints "${reply}"

The Client Runs With Input
    [Documentation]    Start the uppercase client with one line typed on its stdin.
    [Arguments]    ${typed}
    Start The Client    uppercase    lines=${{ [$typed] }}
