*** Settings ***
Documentation       UDP acknowledgement client (seed: lesson 002's client, GBK).
...
...                 Run as ``CLIENT_CMD --host HOST --port PORT``, the client reads one line
...                 from stdin, sends it as one datagram (without its newline), and prints the
...                 server's acknowledgement decoded from GBK. Then it exits with code 0.
...
...                 Here the suite is the server: it receives the datagram and answers the
...                 sender with ``服务端收到信息啦!`` encoded in GBK, as the ack server does.
Resource            ${{ SocketLibrary.CLIENT_RESOURCE }}
Test Setup          A Server Listening On UDP
Test Teardown       Stop The Client And Close Connections
Test Tags           udp    ack    client
Test Timeout        ${TEST_TIMEOUT}


*** Variables ***
# The suite's own encoding: the resource's steps encode the acknowledgement with it.
${ENCODING}     GBK    # robocop: off=VAR02
${ACK}          服务端收到信息啦!


*** Test Cases ***
The Line Typed On Stdin Is Sent
    [Documentation]    The typed line arrives as one datagram, exactly, without its newline.
    When The Client Runs With Input    hello server
    Then The Server Receives "hello server"

The Acknowledgement Is Printed Decoded From GBK
    [Documentation]    The GBK bytes of the acknowledgement are printed as the Chinese text
    ...    they encode, and the client exits with code 0.
    When The Client Runs With Input    hello server
    And The Server Receives "hello server"
    And The Server Replies "${ACK}"
    Then The Client Prints "${ACK}"
    And It Exits With Code 0


*** Keywords ***
The Client Runs With Input
    [Documentation]    Start the ack client with one line typed on its stdin.
    [Arguments]    ${typed}
    Start The Client    ack    lines=${{ [$typed] }}
